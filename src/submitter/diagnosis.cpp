#include "submitter/diagnosis.hpp"

#include "base/json_writer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <json/json.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace swarm::submitter {

namespace {

// why.json stays small whatever the job's size.
constexpr std::size_t kMaxUnitsListed = 200;
constexpr std::size_t kMaxWorkersListed = 100;
constexpr std::size_t kUnitsInDetail = 3;

std::string seconds(std::int64_t ms) {
    return fmt::format("{} s", std::max<std::int64_t>(ms, 0) / 1000);
}

// "1 worker", "2 workers"
std::string count(std::size_t n, std::string_view thing) {
    return fmt::format("{} {}{}", n, thing, n == 1 ? "" : "s");
}

void cap(std::vector<std::string>& units) {
    if (units.size() > kMaxUnitsListed)
        units.resize(kMaxUnitsListed);
}

// Per pending unit: its replicas in flight, its votes and its refusals.
struct UnitTally {
    std::size_t inFlight = 0;
    std::size_t votes = 0; // succeeded replicas
    std::map<std::string, std::size_t> digests;
};

} // namespace

const Blocker* DiagnosisReport::firstBlocking() const {
    auto it =
        std::find_if(blockers.begin(), blockers.end(), [](const Blocker& b) { return b.blocking; });
    return it == blockers.end() ? nullptr : &*it;
}

Diagnosis::Diagnosis(std::int64_t startedMs) : startedMs_(startedMs), lastProgressMs_(startedMs) {}

void Diagnosis::offered(const std::string& worker, const std::vector<std::string>& endpoints,
                        std::int64_t nowMs) {
    auto& log = offers_[worker];
    if (log.count++ == 0)
        log.firstMs = nowMs;
    log.endpoints = endpoints;
}

DiagnosisReport Diagnosis::diagnose(const RunFacts& f, const Snapshot& snapshot) {
    std::size_t mark = snapshot.replicas.size();
    for (const auto& r : snapshot.replicas)
        mark += r.state != ReplicaState::kInFlight;
    if (marked_ && mark != progressMark_)
        lastProgressMs_ = f.nowMs;
    marked_ = true;
    progressMark_ = mark;

    DiagnosisReport report;
    report.writtenMs = f.nowMs;
    report.startedMs = startedMs_;
    report.lastProgressMs = lastProgressMs_;
    report.finished = f.finished;
    if (f.finished) {
        std::size_t valid = 0;
        for (const auto& u : snapshot.units)
            valid += u.state == UnitState::kValid;
        report.blockers.push_back({"finished",
                                   fmt::format("every unit is decided: {} valid, {} failed", valid,
                                               snapshot.units.size() - valid),
                                   false,
                                   {},
                                   {}});
        return report;
    }
    dhtReasons(f, report.blockers);
    workerReasons(f, report.blockers);
    unitReasons(f, snapshot, report.blockers);
    std::stable_sort(report.blockers.begin(), report.blockers.end(),
                     [](const Blocker& a, const Blocker& b) { return a.blocking > b.blocking; });
    return report;
}

// Nothing found on the DHT: no node answered, or no trusted worker record.
void Diagnosis::dhtReasons(const RunFacts& f, std::vector<Blocker>& out) const {
    if (!f.swarm.known || !f.connectedNow.empty())
        return;
    const auto age = seconds(f.nowMs - startedMs_);
    if (f.swarm.dhtNodes == 0) {
        out.push_back({"no-bootstrap",
                       f.swarm.bootstrap.empty()
                           ? fmt::format("no DHT node answered in {} and no bootstrap node is set "
                                         "(--bootstrap, SWARM_BOOTSTRAP or submitter.toml)",
                                         age)
                           : fmt::format("no DHT node answered in {}; bootstrap {} does not answer",
                                         age, fmt::join(f.swarm.bootstrap, ", ")),
                       true,
                       {},
                       {}});
        return;
    }
    if (!f.workersFound.empty())
        return;
    std::vector<std::string> skipped;
    for (const auto& [name, n] : f.swarm.skipped)
        if (n > 0)
            skipped.push_back(fmt::format("{} {}", n, name));
    out.push_back({"no-trusted-worker",
                   fmt::format("no trusted worker found in swarm '{}' in {} ({} known); "
                               "{}",
                               f.swarm.swarm, age, count(f.swarm.dhtNodes, "DHT node"),
                               skipped.empty()
                                   ? std::string("no worker record seen")
                                   : fmt::format("records skipped: {}", fmt::join(skipped, ", "))),
                   true,
                   {},
                   {}});
}

// Workers found that do not meet the requirements, or never dialed in.
void Diagnosis::workerReasons(const RunFacts& f, std::vector<Blocker>& out) const {
    if (!f.unmet.empty()) {
        const bool none = f.unmet.size() >= f.workersFound.size() && f.connectedNow.empty();
        Blocker b{"unmet-requirements",
                  none ? fmt::format("no trusted worker found meets the job's requirements ({} "
                                     "found)",
                                     f.workersFound.size())
                       : fmt::format("{} of the {} trusted workers found do not meet the job's "
                                     "requirements",
                                     f.unmet.size(), f.workersFound.size()),
                  none,
                  {},
                  {}};
        for (const auto& [w, why] : f.unmet)
            if (b.workers.size() < kMaxWorkersListed)
                b.workers.push_back({w, why});
        out.push_back(std::move(b));
    }
    Blocker unreachable{"unreachable", "", f.connectedNow.empty(), {}, {}};
    Blocker connecting{"connecting", "", false, {}, {}};
    std::set<std::string> endpoints;
    for (const auto& [w, log] : offers_) {
        if (f.connectedEver.contains(w) || f.unmet.contains(w))
            continue;
        const auto since = f.nowMs - log.firstMs;
        auto& b = since >= kDialGraceMs ? unreachable : connecting;
        if (b.workers.size() < kMaxWorkersListed)
            b.workers.push_back(
                {w, fmt::format("offered {} since {} ago, never connected",
                                log.count == 1 ? std::string("once") : count(log.count, "time"),
                                seconds(since))});
        if (&b == &unreachable)
            endpoints.insert(log.endpoints.begin(), log.endpoints.end());
    }
    if (!unreachable.workers.empty()) {
        unreachable.detail =
            fmt::format("{} offered work never dialed in: they cannot "
                        "reach this run at {}",
                        count(unreachable.workers.size(), "worker"), fmt::join(endpoints, ", "));
        out.push_back(std::move(unreachable));
    }
    if (!connecting.workers.empty()) {
        connecting.detail = fmt::format("{} offered work may still dial in",
                                        count(connecting.workers.size(), "worker"));
        out.push_back(std::move(connecting));
    }
}

namespace {

// Replicas in flight on workers not connected now (a resumed run's, or a
// dropped session's while a run stops): their results come when the
// worker reaches this run, else they are reissued when their leases end.
Blocker awayBlocker(const std::map<std::string, std::vector<std::string>>& away) {
    std::size_t n = 0;
    Blocker b{"worker-away", "", true, {}, {}};
    for (const auto& [w, what] : away) {
        n += what.size();
        if (b.workers.size() < kMaxWorkersListed)
            b.workers.push_back({w, fmt::format("holds {}", fmt::join(what, ", "))});
    }
    b.detail = fmt::format("{} in flight on {} not connected now: collected when they reach "
                           "this run, reissued when their leases end",
                           count(n, "replica"), count(away.size(), "worker"));
    return b;
}

} // namespace

// From the journal's view: refusals, idle units, units no worker may take,
// units waiting for agreeing results, replicas running.
void Diagnosis::unitReasons(const RunFacts& f, const Snapshot& s, std::vector<Blocker>& out) const {
    std::map<std::string, UnitTally> pending;
    for (const auto& u : s.units)
        if (u.state == UnitState::kPending)
            pending[u.id];
    std::map<std::string, std::vector<std::string>> refusedBy; // worker → "unit/replica: why"
    std::set<std::string> refusedUnits;
    std::set<std::string> running;
    std::map<std::string, std::vector<std::string>> away; // worker → "unit/replica"
    std::size_t runningReplicas = 0;
    for (const auto& r : s.replicas) {
        auto it = pending.find(r.unitId);
        if (it == pending.end())
            continue;
        if (r.state == ReplicaState::kInFlight) {
            ++it->second.inFlight;
            if (f.connectedNow.contains(r.worker)) {
                running.insert(r.worker);
                ++runningReplicas;
            } else
                away[r.worker].push_back(fmt::format("{}/{}", r.unitId, r.replica));
        } else if (r.state == ReplicaState::kSucceeded && r.digest) {
            ++it->second.votes;
            ++it->second.digests[r.digest->str()];
        } else if (r.state == ReplicaState::kRefused) {
            refusedBy[r.worker].push_back(fmt::format("{}/{}: {}", r.unitId, r.replica, r.reason));
            refusedUnits.insert(r.unitId);
        }
    }
    std::vector<std::string> idle;
    std::vector<std::string> voting;
    for (const auto& [id, t] : pending) {
        if (t.inFlight == 0)
            idle.push_back(id);
        if (t.votes > 0)
            voting.push_back(id);
    }
    if (!refusedBy.empty()) {
        std::size_t n = 0;
        Blocker b{"refused", "", !idle.empty(), {}, {refusedUnits.begin(), refusedUnits.end()}};
        for (const auto& [w, what] : refusedBy) {
            n += what.size();
            if (b.workers.size() < kMaxWorkersListed)
                b.workers.push_back(
                    {w, what.front() + (what.size() > 1
                                            ? fmt::format(" (and {} more)", what.size() - 1)
                                            : std::string())});
        }
        b.detail = fmt::format("{} refused {} before running them",
                               count(b.workers.size(), "worker"), count(n, "replica"));
        cap(b.units);
        out.push_back(std::move(b));
    }
    // With no worker connected, every unit is "blocked": the reasons above
    // say why no worker is.
    const std::size_t blocked = f.connectedNow.empty() ? 0 : std::min(f.blockedUnits, idle.size());
    if (!f.connectedNow.empty() && idle.size() > blocked) {
        auto units = idle;
        cap(units);
        out.push_back({"slots-busy",
                       fmt::format("{} connected, {} wait with nothing running: "
                                   "the workers ask for no more work (their slots are busy)",
                                   count(f.connectedNow.size(), "worker"),
                                   count(idle.size() - blocked, "unit")),
                       true,
                       {},
                       units});
    }
    if (blocked > 0) {
        auto units = idle;
        cap(units);
        out.push_back({"needs-more-workers",
                       fmt::format("{} a worker that has not held them: each "
                                   "connected worker already ran or refused a replica",
                                   blocked == 1 ? std::string("1 unit needs")
                                                : count(blocked, "unit") + " need"),
                       true,
                       {},
                       units});
    }
    if (!voting.empty()) {
        std::vector<std::string> shown;
        for (const auto& id : voting) {
            if (shown.size() == kUnitsInDetail)
                break;
            std::size_t best = 0;
            for (const auto& [d, n] : pending[id].digests)
                best = std::max(best, n);
            shown.push_back(
                fmt::format("{}: {} of {} agree", id, best, std::max<std::size_t>(f.quorum, best)));
        }
        auto units = voting;
        cap(units);
        out.push_back({"quorum",
                       fmt::format("{} for agreeing results (quorum {}): {}{}",
                                   voting.size() == 1 ? std::string("1 unit waits")
                                                      : count(voting.size(), "unit") + " wait",
                                   f.quorum, fmt::join(shown, "; "),
                                   voting.size() > shown.size() ? "; ..." : ""),
                       false,
                       {},
                       units});
    }
    if (!away.empty())
        out.push_back(awayBlocker(away));
    if (runningReplicas > 0)
        out.push_back({"running",
                       fmt::format("{} running on {}", count(runningReplicas, "replica"),
                                   count(running.size(), "worker")),
                       false,
                       {},
                       {}});
}

namespace {

base::JsonObject blockerJson(const Blocker& b) {
    base::JsonArray workers;
    for (const auto& w : b.workers)
        workers.add(base::JsonObject().add("worker", w.worker).add("detail", w.detail));
    return base::JsonObject()
        .add("reason", b.reason)
        .add("detail", b.detail)
        .add("blocking", b.blocking)
        .add("workers", workers)
        .add("units", b.units);
}

std::string text(const Json::Value& v, const char* key) {
    const auto& m = v[key];
    return m.isString() ? m.asString() : std::string();
}

std::int64_t integer(const Json::Value& v, const char* key) {
    const auto& m = v[key];
    return m.isInt64() ? m.asInt64() : 0;
}

} // namespace

std::string diagnosisJson(const DiagnosisReport& report) {
    base::JsonArray blockers;
    for (const auto& b : report.blockers)
        blockers.add(blockerJson(b));
    return base::JsonObject()
               .add("version", 1)
               .add("written_ms", report.writtenMs)
               .add("started_ms", report.startedMs)
               .add("last_progress_ms", report.lastProgressMs)
               .add("finished", report.finished)
               .add("reasons", blockers)
               .str() +
           "\n";
}

std::expected<DiagnosisReport, std::string> parseDiagnosis(std::string_view json) {
    Json::CharReaderBuilder builder;
    builder["stackLimit"] = 20;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value root;
    std::string errors;
    try { // jsoncpp throws past its nesting limit
        if (!reader->parse(json.data(), json.data() + json.size(), &root, &errors))
            return std::unexpected("not JSON: " + errors.substr(0, errors.find('\n')));
    } catch (const std::exception& e) {
        return std::unexpected(std::string("not JSON: ") + e.what());
    }
    if (!root.isObject() || !root["reasons"].isArray())
        return std::unexpected(std::string("no list of reasons in it"));
    DiagnosisReport r;
    r.writtenMs = integer(root, "written_ms");
    r.startedMs = integer(root, "started_ms");
    r.lastProgressMs = integer(root, "last_progress_ms");
    r.finished = root["finished"].isBool() && root["finished"].asBool();
    for (const auto& b : root["reasons"]) {
        if (!b.isObject())
            continue;
        Blocker out{text(b, "reason"),
                    text(b, "detail"),
                    !b["blocking"].isBool() || b["blocking"].asBool(),
                    {},
                    {}};
        for (const auto& w : b["workers"])
            if (w.isObject())
                out.workers.push_back({text(w, "worker"), text(w, "detail")});
        for (const auto& u : b["units"])
            if (u.isString())
                out.units.push_back(u.asString());
        r.blockers.push_back(std::move(out));
    }
    return r;
}

std::filesystem::path diagnosisPath(const std::filesystem::path& jobDir) {
    return jobDir / "why.json";
}

std::expected<void, std::string> writeDiagnosis(const std::filesystem::path& jobDir,
                                                const DiagnosisReport& report) {
    const auto path = diagnosisPath(jobDir);
    auto temp = path;
    temp += ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out << diagnosisJson(report);
        out.flush();
        if (!out)
            return std::unexpected("cannot write " + temp.string());
    }
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec)
        return std::unexpected("cannot rename " + temp.string() + ": " + ec.message());
    return {};
}

} // namespace swarm::submitter

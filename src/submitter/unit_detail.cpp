#include "submitter/unit_detail.hpp"

#include "submitter/job_spec.hpp"

#include "base/json_writer.hpp"
#include "wire/bytes.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace swarm::submitter {

namespace fs = std::filesystem;

namespace {

// DIR/blobs/<hex> of output `name` of a replica, if it reported one and
// the blob is there.
std::optional<fs::path> logFile(const fs::path& jobDir, const ReplicaRecord& r,
                                std::string_view name) {
    for (const auto& o : r.outputs) {
        if (o.name != name)
            continue;
        auto path = jobDir / "blobs" / wire::toHex(o.digest.bytes);
        std::error_code ec;
        if (fs::is_regular_file(path, ec))
            return path;
    }
    return std::nullopt;
}

std::vector<std::string> filesUnder(const fs::path& dir) {
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec))
            files.push_back(it->path().lexically_relative(dir).string());
    std::sort(files.begin(), files.end());
    return files;
}

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : std::string(sep)) + s;
    return out;
}

// The exit code is the container's only for replicas that ran to an end.
bool hasExitCode(const ReplicaRecord& r) {
    return r.state == ReplicaState::kSucceeded ||
           (r.state == ReplicaState::kErrored && r.exitCode >= 0);
}

void appendReplica(std::string& out, const ReplicaDetail& d, const TimeText& timeText) {
    const auto& r = d.record;
    out += fmt::format("replica {}: {}\n", r.replica, stateName(r.state));
    out += fmt::format("  worker   {}\n", r.worker);
    if (hasExitCode(r))
        out += fmt::format("  exit     {}\n", r.exitCode);
    if (r.digest)
        out += fmt::format("  digest   {}\n", r.digest->str());
    if (!r.reason.empty())
        out += fmt::format("  reason   {}\n", r.reason);
    out += fmt::format("  issued   {}\n", timeText(r.issuedMs));
    if (r.state == ReplicaState::kInFlight)
        out += fmt::format("  lease    until {}\n", timeText(r.leaseExpiresMs));
    if (r.state == ReplicaState::kSucceeded) {
        out += fmt::format("  stdout   {}\n", d.stdoutFile ? d.stdoutFile->string() : "not kept");
        out += fmt::format("  stderr   {}\n", d.stderrFile ? d.stderrFile->string() : "not kept");
    }
}

} // namespace

std::expected<UnitDetail, std::string> unitDetail(const fs::path& jobDir, std::string_view job,
                                                  const Snapshot& state, std::string_view unitId) {
    auto unit = std::find_if(state.units.begin(), state.units.end(),
                             [&](const UnitRecord& u) { return u.id == unitId; });
    if (unit == state.units.end())
        return std::unexpected(fmt::format("no unit '{}' in job {}", unitId, jobDir.string()));
    UnitDetail d;
    d.jobDir = jobDir;
    d.job = job;
    d.unit = *unit;
    for (const auto& r : state.replicas) {
        if (r.unitId != unitId)
            continue;
        d.replicas.push_back({r, logFile(jobDir, r, "stdout"), logFile(jobDir, r, "stderr")});
    }
    std::sort(d.replicas.begin(), d.replicas.end(),
              [](const ReplicaDetail& a, const ReplicaDetail& b) {
                  return a.record.replica < b.record.replica;
              });
    // Unit ids in the journal were checked as safe directory names; a
    // journal changed by hand is not trusted to have kept them so.
    const auto results = jobDir / "results" / unit->id;
    std::error_code ec;
    if (isSafeUnitId(unit->id) && fs::is_directory(results, ec)) {
        d.results = results;
        d.resultFiles = filesUnder(results);
    }
    return d;
}

std::string unitDetailText(const UnitDetail& d, const TimeText& timeText) {
    const auto& u = d.unit;
    std::string out = fmt::format("unit {} of job {} ({}): {}\n", u.id, d.job, d.jobDir.string(),
                                  stateName(u.state));
    if (u.digest)
        out += fmt::format("  digest   {}\n", u.digest->str());
    if (!u.agreed.empty())
        out += fmt::format("  agreed   {}\n", joined(u.agreed, ", "));
    if (!u.reason.empty())
        out += fmt::format("  reason   {}\n", u.reason);
    if (d.results)
        out +=
            fmt::format("  results  {} ({})\n", d.results->string(), joined(d.resultFiles, ", "));
    else if (u.state == UnitState::kValid)
        out += "  results  not written yet (a resume writes them from blobs/)\n";
    if (d.replicas.empty())
        out += "no replica issued yet\n";
    for (const auto& r : d.replicas)
        appendReplica(out, r, timeText);
    return out;
}

namespace {
void addPath(base::JsonObject& o, std::string_view key, const std::optional<fs::path>& p) {
    if (p)
        o.add(key, p->string());
    else
        o.addNull(key);
}
} // namespace

std::string unitDetailJson(const UnitDetail& d) {
    const auto& u = d.unit;
    base::JsonObject o;
    o.add("job", d.job)
        .add("dir", d.jobDir.string())
        .add("unit", u.id)
        .add("state", stateName(u.state));
    if (u.digest)
        o.add("digest", u.digest->str());
    else
        o.addNull("digest");
    o.add("agreed", u.agreed);
    if (u.reason.empty())
        o.addNull("reason");
    else
        o.add("reason", u.reason);
    addPath(o, "results", d.results);
    o.add("result_files", d.resultFiles);
    base::JsonArray replicas;
    for (const auto& rd : d.replicas) {
        const auto& r = rd.record;
        base::JsonObject j;
        j.add("replica", r.replica).add("worker", r.worker).add("state", stateName(r.state));
        if (hasExitCode(r))
            j.add("exit_code", static_cast<std::int64_t>(r.exitCode));
        else
            j.addNull("exit_code");
        if (r.digest)
            j.add("digest", r.digest->str());
        else
            j.addNull("digest");
        if (r.reason.empty())
            j.addNull("reason");
        else
            j.add("reason", r.reason);
        j.add("issued_ms", r.issuedMs).add("lease_expires_ms", r.leaseExpiresMs);
        addPath(j, "stdout", rd.stdoutFile);
        addPath(j, "stderr", rd.stderrFile);
        replicas.add(j);
    }
    o.add("replicas", replicas);
    return o.str();
}

} // namespace swarm::submitter

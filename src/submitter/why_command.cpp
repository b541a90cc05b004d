#include "submitter/commands.hpp"

#include "submitter/diagnosis.hpp"
#include "submitter/journal.hpp"
#include "wire/clock.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace swarm::submitter {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kReasonWidth = 22; // the longest reason, a worker's row

Journal openJobReadOnly(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw std::runtime_error(dir.string() + " is not a job directory: no such directory");
    if (!Journal::exists(dir))
        throw std::runtime_error(dir.string() + " is not a job directory: no journal.sqlite");
    try {
        return Journal::open(dir, Journal::Access::kReadOnly);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot read the journal of " + dir.string() + ": " + e.what());
    }
}

// why.json as the run last wrote it; nullopt with a note when there is none
// or it does not read.
std::optional<DiagnosisReport> readDiagnosis(const fs::path& dir, std::string& note) {
    std::ifstream in(diagnosisPath(dir), std::ios::binary);
    if (!in) {
        note = "no diagnosis: " + diagnosisPath(dir).string() +
               " is missing (a run writes it every 2 s)";
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto report = parseDiagnosis(text.str());
    if (!report) {
        note = "no diagnosis: " + diagnosisPath(dir).string() + ": " + report.error();
        return std::nullopt;
    }
    return std::move(*report);
}

std::string jobNameOf(const Journal& journal) {
    try {
        return toml::parse(journal.specToml())["name"].value<std::string>().value_or("job");
    } catch (const std::exception&) {
        return "job";
    }
}

std::string ago(std::int64_t ms) {
    return fmt::format("{} s", std::max<std::int64_t>(ms, 0) / 1000);
}

void row(std::string& out, std::string_view left, std::string_view right) {
    auto line = fmt::format("{:<{}}{}", left, kReasonWidth, right);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
}

void appendBlocker(std::string& out, const Blocker& b) {
    row(out, b.reason, b.detail);
    for (const auto& w : b.workers)
        row(out, "  worker " + w.worker.substr(0, 12), w.detail);
}

// The heading: the job, its counts, whether a run drives it now and how old
// its diagnosis is.
std::string heading(const fs::path& dir, const std::string& name, const Snapshot& s, bool live,
                    const std::optional<DiagnosisReport>& report, const std::string& note,
                    std::int64_t nowMs) {
    std::size_t valid = 0;
    std::size_t failed = 0;
    for (const auto& u : s.units) {
        valid += u.state == UnitState::kValid;
        failed += u.state == UnitState::kFailed;
    }
    const auto pending = s.units.size() - valid - failed;
    std::string out = fmt::format("job {} ({}): {} units, {} valid, {} failed, {} pending\n", name,
                                  dir.string(), s.units.size(), valid, failed, pending);
    if (pending == 0) {
        out += "the job is finished: nothing waits\n";
        return out;
    }
    std::string run = live ? "a run is live" : "no run is live (resume it to go on)";
    if (report)
        run += fmt::format("; diagnosis {} old; no progress for {}", ago(nowMs - report->writtenMs),
                           ago(report->writtenMs - report->lastProgressMs));
    out += run + "\n";
    if (!report)
        out += note + "\n";
    return out;
}

int why(const fs::path& dir, const std::optional<std::string>& unit) {
    auto journal = openJobReadOnly(dir);
    const auto name = jobNameOf(journal);
    const auto snapshot = journal.load();
    const UnitRecord* unitRecord = nullptr;
    if (unit) {
        auto it = std::find_if(snapshot.units.begin(), snapshot.units.end(),
                               [&](const UnitRecord& u) { return u.id == *unit; });
        if (it == snapshot.units.end())
            throw std::runtime_error(fmt::format("no unit '{}' in job {}", *unit, dir.string()));
        unitRecord = &*it;
    }
    std::string note;
    const auto report = readDiagnosis(dir, note);
    const auto now = wire::SystemClock().nowMs();
    std::string out = heading(dir, name, snapshot, Journal::inUse(dir), report, note, now);
    const bool pending = out.find("the job is finished") == std::string::npos;
    if (unitRecord) {
        out += fmt::format("unit {}: {}{}\n", unitRecord->id, stateName(unitRecord->state),
                           unitRecord->reason.empty() ? "" : " (" + unitRecord->reason + ")");
        std::string replicas;
        for (const auto& r : snapshot.replicas)
            if (r.unitId == *unit)
                row(replicas, std::to_string(r.replica),
                    fmt::format("{:<14}{:<13}{}", r.worker.substr(0, 12), stateName(r.state),
                                r.reason));
        if (replicas.empty()) {
            out += "no replica issued yet\n";
        } else {
            row(out, "REPLICA", "WORKER        STATE        REASON");
            out += replicas;
        }
    }
    if (report && pending && (!unitRecord || unitRecord->state == UnitState::kPending)) {
        row(out, "REASON", "DETAIL");
        for (const auto& b : report->blockers) {
            const bool applies = !unitRecord || b.units.empty() ||
                                 std::find(b.units.begin(), b.units.end(), *unit) != b.units.end();
            if (applies && b.reason != "finished")
                appendBlocker(out, b);
        }
    }
    fmt::print("{}", out);
    return 0;
}

} // namespace

cli::Command whyCommand() {
    return {"why", "why a job waits: the reasons its run names, per worker and per unit",
            [](CLI::App& app) -> cli::Action {
                struct Flags {
                    std::string dir;
                    std::optional<std::string> unit;
                };
                auto flags = std::make_shared<Flags>();
                app.add_option("DIR", flags->dir, "the job directory")->required()->type_name("");
                app.add_option("UNIT", flags->unit,
                               "one unit: its replicas, their workers, states and reasons, and "
                               "the reasons that hold it up")
                    ->type_name("");
                return [flags](const cli::Globals&) { return why(flags->dir, flags->unit); };
            }};
}

} // namespace swarm::submitter

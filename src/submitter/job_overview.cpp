#include "submitter/job_overview.hpp"

#include "base/json_writer.hpp"
#include "submitter/journal.hpp"
#include "submitter/scheduler_store.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>

namespace swarm::submitter {

namespace fs = std::filesystem;

std::string_view stateName(JobState state) noexcept {
    switch (state) {
    case JobState::kRunning:
        return "running";
    case JobState::kFinished:
        return "finished";
    case JobState::kFailed:
        return "failed";
    case JobState::kInterrupted:
        return "interrupted";
    case JobState::kCancelled:
        return "cancelled";
    case JobState::kMissing:
        return "missing";
    case JobState::kUnreadable:
        return "unreadable";
    }
    return "unknown";
}

std::vector<JobOverview> groupByDirectory(const std::vector<IndexEntry>& entries) {
    std::vector<JobOverview> jobs;
    std::map<fs::path, std::size_t> row;
    for (const auto& e : entries) {
        auto [it, fresh] = row.try_emplace(e.dir, jobs.size());
        if (fresh) {
            JobOverview j;
            j.dir = e.dir;
            j.startedMs = e.timeMs;
            jobs.push_back(std::move(j));
        }
        auto& j = jobs[it->second];
        j.name = e.name;
        j.startedMs = std::min(j.startedMs, e.timeMs);
        j.lastRunMs = std::max(j.lastRunMs, e.timeMs);
        ++j.runs;
    }
    std::stable_sort(jobs.begin(), jobs.end(), [](const JobOverview& a, const JobOverview& b) {
        return a.startedMs < b.startedMs;
    });
    return jobs;
}

JobState deriveState(bool inUse, std::size_t total, std::size_t valid, std::size_t failed,
                     bool cancelled) {
    if (inUse)
        return JobState::kRunning;
    if (valid + failed < total)
        return cancelled ? JobState::kCancelled : JobState::kInterrupted;
    return failed == 0 ? JobState::kFinished : JobState::kFailed;
}

UnitCounts countUnits(const Snapshot& state) {
    UnitCounts c;
    c.total = state.units.size();
    for (const auto& u : state.units) {
        c.valid += u.state == UnitState::kValid;
        c.failed += u.state == UnitState::kFailed;
    }
    return c;
}

void inspect(JobOverview& job) {
    std::error_code ec;
    if (!fs::is_directory(job.dir, ec)) {
        job.state = JobState::kMissing;
        job.problem = "no such directory";
        return;
    }
    if (!Journal::exists(job.dir)) {
        job.state = JobState::kMissing;
        job.problem = "no journal.sqlite in it";
        return;
    }
    try {
        auto journal = Journal::open(job.dir, Journal::Access::kReadOnly);
        const auto c = countUnits(journal.load());
        // Only the name: the whole spec would also check the input files.
        const auto spec = toml::parse(journal.specToml());
        if (auto name = spec["name"].value<std::string>())
            job.name = *name;
        job.total = c.total;
        job.valid = c.valid;
        job.failed = c.failed;
        job.state = deriveState(Journal::inUse(job.dir), c.total, c.valid, c.failed,
                                journal.cancelledAt().has_value());
    } catch (const std::exception& e) {
        job.state = JobState::kUnreadable;
        job.problem = e.what();
    }
}

std::string localTimeText(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    if (::localtime_r(&t, &tm) == nullptr)
        return std::to_string(ms);
    char text[32];
    const auto n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return n ? std::string(text, n) : std::to_string(ms);
}

namespace {
bool hasCounts(const JobOverview& j) {
    return j.state != JobState::kMissing && j.state != JobState::kUnreadable;
}
} // namespace

std::string jobsTable(const std::vector<JobOverview>& jobs, const TimeText& timeText) {
    constexpr std::size_t kColumns = 7;
    using Row = std::array<std::string, kColumns>;
    std::vector<Row> rows{{"STARTED", "STATE", "VALID", "FAILED", "TOTAL", "NAME", "DIRECTORY"}};
    for (const auto& j : jobs) {
        const bool counts = hasCounts(j);
        auto count = [&](std::size_t n) { return counts ? std::to_string(n) : std::string("-"); };
        rows.push_back({timeText(j.startedMs), std::string(stateName(j.state)), count(j.valid),
                        count(j.failed), count(j.total), j.name, j.dir.string()});
    }
    std::array<std::size_t, kColumns> width{};
    for (const auto& r : rows)
        for (std::size_t c = 0; c < kColumns; ++c)
            width[c] = std::max(width[c], r[c].size());
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t c = 0; c < kColumns; ++c) {
            const bool number = c >= 2 && c <= 4; // right-aligned
            if (c + 1 == kColumns)
                line += r[c]; // the last column is not padded
            else if (number)
                line += fmt::format("{:>{}}  ", r[c], width[c]);
            else
                line += fmt::format("{:<{}}  ", r[c], width[c]);
        }
        out += line + '\n';
    }
    return out;
}

std::string jobsJson(const fs::path& index, std::size_t skipped,
                     const std::vector<JobOverview>& jobs) {
    base::JsonArray list;
    for (const auto& j : jobs) {
        base::JsonObject o;
        o.add("dir", j.dir.string()).add("name", j.name).add("state", stateName(j.state));
        if (hasCounts(j))
            o.add("total", j.total).add("valid", j.valid).add("failed", j.failed);
        else
            o.addNull("total").addNull("valid").addNull("failed");
        o.add("started_ms", j.startedMs).add("last_run_ms", j.lastRunMs).add("runs", j.runs);
        if (!j.problem.empty())
            o.add("problem", j.problem);
        list.add(o);
    }
    base::JsonObject doc;
    doc.add("index", index.string()).add("skipped", skipped).add("jobs", list);
    return doc.str();
}

} // namespace swarm::submitter

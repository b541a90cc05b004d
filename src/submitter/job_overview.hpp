#pragma once

#include "submitter/job_index.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

struct Snapshot;

/// Where a job listed by `swarm-submit jobs` stands.
enum class JobState {
    kRunning,     ///< a run or resume holds the directory now
    kFinished,    ///< every unit decided, every unit valid
    kFailed,      ///< every unit decided, some failed
    kInterrupted, ///< units left and no run holds it: resume it
    kCancelled,   ///< units left, the researcher cancelled it: resume it
    kMissing,     ///< the directory, or its journal, is gone
    kUnreadable,  ///< a journal is there but cannot be read
};

/// "running", "finished", "failed", "interrupted", "cancelled", "missing",
/// "unreadable".
std::string_view stateName(JobState state) noexcept;

/// One line of `swarm-submit jobs`: a job directory from the index, and
/// what its journal says now.
struct JobOverview {
    std::filesystem::path dir;
    std::string name;           ///< from the journal, else from the index
    std::int64_t startedMs = 0; ///< the first run the index records
    std::int64_t lastRunMs = 0; ///< the latest run or resume
    std::size_t runs = 0;       ///< runs and resumes recorded
    JobState state = JobState::kMissing;
    std::size_t total = 0; ///< units (0 when missing or unreadable)
    std::size_t valid = 0;
    std::size_t failed = 0;
    std::string problem; ///< why missing or unreadable
};

/// One overview per job directory in `entries`, in the order of their
/// first run, with the index's name and times; the state is left to
/// inspect(). Pure.
std::vector<JobOverview> groupByDirectory(const std::vector<IndexEntry>& entries);

/// A job's state from its units and whether a process holds it. Pure.
/// `cancelled`: the journal records a cancel (Journal::cancelledAt()).
JobState deriveState(bool inUse, std::size_t total, std::size_t valid, std::size_t failed,
                     bool cancelled = false);

/// Fills in `job`'s state, counts and name from its directory, read
/// without locking it (as `status` does). Never throws: a directory or
/// journal that is gone is kMissing, one that cannot be read kUnreadable,
/// each with the problem.
void inspect(JobOverview& job);

/// Unit counts of a journal snapshot: total, valid, failed.
struct UnitCounts {
    std::size_t total = 0;
    std::size_t valid = 0;
    std::size_t failed = 0;
};
UnitCounts countUnits(const Snapshot& state);

/// Turns Unix milliseconds into the text a table shows.
using TimeText = std::function<std::string(std::int64_t ms)>;

/// Local time as "YYYY-MM-DD HH:MM:SS" (the TZ of the process), for the
/// commands' tables.
std::string localTimeText(std::int64_t ms);

/// The table `swarm-submit jobs` prints: a header, then one line per job
/// (STARTED, STATE, VALID, FAILED, TOTAL, NAME, DIRECTORY), columns padded
/// to their widest cell; "-" for counts a missing or unreadable job has
/// not. Ends with a newline.
std::string jobsTable(const std::vector<JobOverview>& jobs, const TimeText& timeText);

/// The `--json` document: {"index":PATH,"skipped":N,"jobs":[{"dir","name",
/// "state","total","valid","failed","started_ms","last_run_ms","runs",
/// "problem"?}]}; counts are null for missing and unreadable jobs.
std::string jobsJson(const std::filesystem::path& index, std::size_t skipped,
                     const std::vector<JobOverview>& jobs);

} // namespace swarm::submitter

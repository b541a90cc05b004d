#pragma once

#include "submitter/job_overview.hpp"
#include "submitter/scheduler_store.hpp"

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

/// One replica of a unit and where its logs are in the job directory.
struct ReplicaDetail {
    ReplicaRecord record;
    /// `DIR/blobs/<hex>` of its stdout and stderr, when it reported them
    /// (any replica that ended with a result, errors included) and the blob
    /// is there.
    std::optional<std::filesystem::path> stdoutFile;
    std::optional<std::filesystem::path> stderrFile;
};

/// One unit of a job as `swarm-submit status DIR UNIT` shows it: its
/// record, its replicas, and its result files.
struct UnitDetail {
    std::filesystem::path jobDir;
    std::string job; ///< the job's name
    UnitRecord unit;
    std::vector<ReplicaDetail> replicas; ///< by replica number
    /// `DIR/results/<unit>` once written (valid units), and the files in it
    /// relative to it, sorted.
    std::optional<std::filesystem::path> results;
    std::vector<std::string> resultFiles;
};

/// Gathers unit `unitId` of the job in `jobDir` from a journal snapshot,
/// looking in the directory for its result files and log blobs (reads
/// only). The error is the one line to print: "no unit 'X' in job DIR".
std::expected<UnitDetail, std::string> unitDetail(const std::filesystem::path& jobDir,
                                                  std::string_view job, const Snapshot& state,
                                                  std::string_view unitId);

/// The text `status DIR UNIT` prints: the unit's state, digest, agreeing
/// workers, reason and results, then one block per replica (state, worker,
/// exit code, digest, reason, when issued, its logs). Ends with a newline.
std::string unitDetailText(const UnitDetail& detail, const TimeText& timeText);

/// The same as one JSON object (`status DIR UNIT --json`): {"job","dir",
/// "unit","state","digest","agreed","reason","results","result_files",
/// "replicas":[{"replica","worker","state","exit_code","digest","reason",
/// "issued_ms","lease_expires_ms","stdout","stderr"}]}; absent values are
/// null.
std::string unitDetailJson(const UnitDetail& detail);

} // namespace swarm::submitter

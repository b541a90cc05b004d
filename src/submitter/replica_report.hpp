#pragma once

#include "submitter/scheduler_store.hpp"
#include "wire/digest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swarm::wire {
struct Result;
}

namespace swarm::submitter {

/// What a worker said about one replica, reduced to what the scheduler
/// needs. Either `error` is non-empty (the replica counts as an error) or
/// `digest` is set (the replica is a vote).
struct ReplicaReport {
    std::optional<wire::Digest> digest;
    std::int32_t exitCode = -1;
    std::vector<OutputFile> outputs;
    std::string error;
    /// With `error`: the worker refused the unit before running it by a rule
    /// of its own (wire::Result::refused); not counted against max_errors.
    bool refused = false;

    /// A successful report: computes the combined digest of `outputs`.
    static ReplicaReport success(std::int32_t exitCode, std::vector<OutputFile> outputs);
    /// An error report with a human-readable reason, and the logs the
    /// worker sent with it (kept for `swarm-submit logs`, never a vote).
    static ReplicaReport failure(std::string reason, std::vector<OutputFile> logs = {},
                                 std::int32_t exitCode = -1);
};

/// The digest replicas vote with: SHA-256 over a domain tag, the exit code
/// and every output file (name, content digest, size) sorted by name —
/// except "stderr", which often carries timings and host details that differ
/// between honest runs. Independent of the order of `outputs`.
wire::Digest combinedDigest(std::int32_t exitCode, const std::vector<OutputFile>& outputs);

/// Reduces a wire Result. It is a refusal when the worker marks it so
/// (`refused`); an error report when the worker says so (`error`), when the
/// unit timed out or was OOM-killed, or when the result is malformed (an
/// unsafe or duplicate output name). An error report keeps the result's
/// stdout and stderr. Never throws.
ReplicaReport reportFromResult(const wire::Result& result);

} // namespace swarm::submitter

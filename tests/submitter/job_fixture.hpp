#pragma once

#include "submitter/job_spec.hpp"

#include <filesystem>

namespace swarm::wire {
class ManualClock;
}

namespace swarm::test {

/// A job directory at `dir` made by the real journal, scheduler and result
/// store, as a run leaves it: job "demo" with units u0 (valid: w1 and w2
/// agreed; results and log blobs written), u1 (failed: w1 timed out,
/// max_errors 0) and u2 (a replica in flight on each of w1 and w2). Its
/// input files go to `inputs`. Returns the job.
submitter::JobSpec makeJobDir(const std::filesystem::path& dir, const std::filesystem::path& inputs,
                              const wire::ManualClock& clock);

} // namespace swarm::test

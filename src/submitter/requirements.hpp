#pragma once

#include "submitter/job_spec.hpp"
#include "wire/records.hpp"

#include <optional>
#include <string>

namespace swarm::submitter {

/// Why a worker's capacity record does not meet a job's requirements:
/// "arch aarch64, not x86_64" or "no label 'gpu'"; nullopt when it meets
/// them all. The first unmet one is named. Pure.
std::optional<std::string> unmetRequirement(const Requirements& req,
                                            const wire::CapacityRecord& record);

} // namespace swarm::submitter

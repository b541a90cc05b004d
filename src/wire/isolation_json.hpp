#pragma once

#include "base/json_writer.hpp"

namespace swarm::wire {

struct Isolation;

/// The JSON object both `swarm-worker doctor --json` and `swarm-submit
/// workers --json` print for an Isolation: one bool per limit, named
/// memory, cpu, pids, userns, seccomp, network and read_only.
base::JsonObject isolationJson(const Isolation& isolation);

} // namespace swarm::wire

#pragma once

#include "cli/program.hpp"

namespace swarm::bench {

/// `swarm-bench stream`: blob throughput over a TLS session on loopback
/// against the same bytes over plain TCP, in the same run.
cli::Command streamCommand();

} // namespace swarm::bench

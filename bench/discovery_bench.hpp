#pragma once

#include "cli/program.hpp"

namespace swarm::bench {

/// `swarm-bench discovery`: cold discovery, propagation and the raw OpenDHT
/// get baseline on an overlay of N nodes (real UDP on loopback, or an
/// in-process simulated network with round-trip time, jitter and loss).
cli::Command discoveryCommand();

} // namespace swarm::bench

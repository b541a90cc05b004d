#pragma once

#include "cli/program.hpp"

namespace swarm::worker {

/// `swarm-worker run`: the daemon.
cli::Command runCommand();
/// `swarm-worker status`: asks the running daemon over its control socket.
cli::Command statusCommand();
/// `swarm-worker doctor`: what isolation this machine really enforces.
cli::Command doctorCommand();

} // namespace swarm::worker

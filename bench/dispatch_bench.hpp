#pragma once

#include "cli/program.hpp"

namespace swarm::bench {

/// `swarm-bench dispatch`: U tiny units through a real swarm on loopback
/// (one submitter, W worker processes with S slots each, R = 1) against the
/// same containers driven directly through Podman's REST API at the same
/// concurrency, in the same run; also the idle workers' RSS and CPU. Starts
/// and ends every process itself (a Podman service, the workers, the
/// submitter) and removes its temporary directory and containers, also on
/// failure. Throws std::runtime_error with a clear message when Podman, the
/// test image or the swarm programs are missing.
cli::Command dispatchCommand();

} // namespace swarm::bench

#pragma once

#include "cli/program.hpp"

#include <functional>
#include <memory>

namespace swarm::sandbox {
class ContainerRuntime;
}

namespace swarm::worker {

/// Wraps the real runtime (fault injection in tests; never a product flag).
using RuntimeWrapper =
    std::function<std::unique_ptr<sandbox::ContainerRuntime>(sandbox::ContainerRuntime& real)>;

/// `swarm-worker run`: the daemon. `wrap`, when set, wraps the sandbox.
cli::Command runCommand(RuntimeWrapper wrap = {});
/// `swarm-worker status`: asks the running daemon over its control socket.
cli::Command statusCommand();
/// `swarm-worker doctor`: what isolation this machine really enforces.
cli::Command doctorCommand();

/// swarm-worker: its name, summary and every command, as main() runs them.
cli::Program program();

} // namespace swarm::worker

#include "worker/commands.hpp"

namespace swarm::worker {

cli::Program program() {
    cli::Program p{"swarm-worker", "run work units for trusted submitters",
                   cli::identityCommands()};
    p.commands.push_back(runCommand());
    p.commands.push_back(statusCommand());
    p.commands.push_back(doctorCommand());
    return p;
}

} // namespace swarm::worker

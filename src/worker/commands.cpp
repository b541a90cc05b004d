#include "worker/commands.hpp"

#include "worker/control_commands.hpp"

namespace swarm::worker {

cli::Program program() {
    cli::Program p{"swarm-worker", "run work units for trusted submitters",
                   cli::identityCommands()};
    p.commands.push_back(runCommand());
    p.commands.push_back(statusCommand());
    p.commands.push_back(suspendCommand());
    p.commands.push_back(resumeCommand());
    p.commands.push_back(doctorCommand());
    return p;
}

} // namespace swarm::worker

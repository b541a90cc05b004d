#include "submitter/commands.hpp"

#include "submitter/workers_command.hpp"

namespace swarm::submitter {

cli::Program program() {
    cli::Program p{"swarm-submit", "run a batch of work units on trusted workers",
                   cli::identityCommands()};
    p.commands.push_back(runCommand());
    p.commands.push_back(resumeCommand());
    p.commands.push_back(statusCommand());
    p.commands.push_back(logsCommand());
    p.commands.push_back(cancelCommand());
    p.commands.push_back(whyCommand());
    p.commands.push_back(jobsCommand());
    p.commands.push_back(workersCommand());
    return p;
}

} // namespace swarm::submitter

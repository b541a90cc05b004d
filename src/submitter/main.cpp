// swarm-submit: push a batch of work units through the swarm.

#include "cli/program.hpp"
#include "submitter/commands.hpp"
#include "submitter/workers_command.hpp"

int main(int argc, char** argv) {
    using namespace swarm;
    std::vector<cli::Command> commands = cli::identityCommands();
    commands.push_back(submitter::runCommand());
    commands.push_back(submitter::resumeCommand());
    commands.push_back(submitter::statusCommand());
    commands.push_back(submitter::workersCommand());
    return cli::runProgram("swarm-submit", "run a batch of work units on trusted workers", argc,
                           argv, commands);
}

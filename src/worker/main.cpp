// swarm-worker: the volunteer's daemon and its housekeeping commands.

#include "cli/program.hpp"
#include "worker/commands.hpp"

int main(int argc, char** argv) {
    using namespace swarm;
    std::vector<cli::Command> commands = cli::identityCommands();
    commands.push_back(worker::runCommand());
    commands.push_back(worker::statusCommand());
    commands.push_back(worker::doctorCommand());
    return cli::runProgram("swarm-worker", "run work units for trusted submitters", argc, argv,
                           commands);
}

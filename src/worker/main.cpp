// swarm-worker: the volunteer's daemon and its housekeeping commands.

#include "cli/program.hpp"

int main(int argc, char** argv) {
    using namespace swarm;
    std::vector<cli::Command> commands = cli::identityCommands();
    return cli::runProgram("swarm-worker", "run work units for trusted submitters", argc, argv,
                           commands);
}

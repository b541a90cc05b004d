// swarm-worker: the volunteer's daemon and its housekeeping commands.

#include "cli/program.hpp"
#include "worker/commands.hpp"

int main(int argc, char** argv) {
    return swarm::cli::runProgram(swarm::worker::program(), argc, argv);
}

// swarm-submit: push a batch of work units through the swarm.

#include "cli/program.hpp"
#include "submitter/commands.hpp"

int main(int argc, char** argv) {
    return swarm::cli::runProgram(swarm::submitter::program(), argc, argv);
}

// swarm-bench: the benchmark harnesses, one subcommand each.

#include "bench/stream_bench.hpp"
#include "cli/program.hpp"
#include "net/credentials.hpp"

int main(int argc, char** argv) {
    swarm::net::TlsLibrary tls;
    return swarm::cli::runProgram("swarm-bench", "swarm benchmark harnesses", argc, argv,
                                  {
                                      swarm::bench::streamCommand(),
                                  });
}

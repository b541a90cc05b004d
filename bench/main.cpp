// swarm-bench: the benchmark harnesses, one subcommand each.

#include "bench/discovery_bench.hpp"
#include "bench/dispatch_bench.hpp"
#include "bench/stream_bench.hpp"
#include "cli/program.hpp"
#include "net/credentials.hpp"
#include "sandbox/podman_client.hpp"

#include <cstdio>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    std::vector<swarm::cli::Command> commands = {
        swarm::bench::streamCommand(),
        swarm::bench::discoveryCommand(),
        swarm::bench::dispatchCommand(),
    };
    // `--list` prints the harness names, one a line (scripts/test runs each
    // with --quick).
    if (argc == 2 && std::string_view(argv[1]) == "--list") {
        for (const auto& c : commands)
            std::printf("%.*s\n", static_cast<int>(c.name.size()), c.name.data());
        return 0;
    }
    swarm::net::TlsLibrary tls;
    swarm::sandbox::CurlGlobal curl; // before any thread uses libcurl (dispatch)
    return swarm::cli::runProgram("swarm-bench", "swarm benchmark harnesses", argc, argv, commands);
}

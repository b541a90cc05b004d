// swarm-bench: the benchmark harnesses, one subcommand each.

#include "bench/program.hpp"
#include "net/credentials.hpp"
#include "sandbox/podman_client.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    const auto program = swarm::bench::program();
    // `--list` prints the harness names, one a line (scripts/test runs each
    // with --quick).
    if (argc == 2 && std::string_view(argv[1]) == "--list") {
        for (const auto& c : program.commands)
            std::printf("%.*s\n", static_cast<int>(c.name.size()), c.name.data());
        return 0;
    }
    swarm::net::TlsLibrary tls;
    swarm::sandbox::CurlGlobal curl; // before any thread uses libcurl (dispatch)
    return swarm::cli::runProgram(program, argc, argv);
}

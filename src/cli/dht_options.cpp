#include "cli/dht_options.hpp"

#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace swarm::cli {

void addDhtOptions(CLI::App& app, DhtOptions& options, const DhtOptionNames& names) {
    app.add_option("--swarm", options.swarm,
                   fmt::format("which swarm (default: {}'s, else default)", names.settings))
        ->type_name("NAME");
    app.add_option("--bootstrap", options.bootstrap,
                   fmt::format("a DHT node to join through; repeat for more (with {}'s and "
                               "$SWARM_BOOTSTRAP)",
                               names.settings))
        ->allow_extra_args(false) // one value each: "--bootstrap H:P JOB" leaves JOB alone
        ->type_name("HOST:PORT");
    app.add_option(names.address, options.address,
                   fmt::format("the IPv4 address the DHT node binds (default: {}'s, else any)",
                               names.settings))
        ->type_name("ADDR");
    app.add_option(names.port, options.port, "the DHT node's UDP port (default: any free)")
        ->check(wholeNumber(65535))
        ->type_name("PORT");
    app.add_flag("--lan", options.lan, "find peers by LAN multicast too (OpenDHT's LAN discovery)");
}

} // namespace swarm::cli

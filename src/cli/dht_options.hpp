#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace swarm::cli {

/// The DHT options `swarm-worker run`, `swarm-submit run`/`resume` and
/// `swarm-submit workers` share, as given (empty: not given).
struct DhtOptions {
    std::optional<std::string> swarm;
    std::vector<std::string> bootstrap; ///< every --bootstrap, in order
    std::optional<std::string> address;
    std::optional<std::uint16_t> port;
    bool lan = false;
};

/// How a command names its address and port options, and the settings file
/// whose values apply when a flag is absent (for the help text).
struct DhtOptionNames {
    const char* address = "--dht-address";
    const char* port = "--dht-port";
    const char* settings = "the config file";
};

/// Declares --swarm NAME, --bootstrap HOST:PORT (repeatable), the address
/// and port options (a port above 65535 is a usage error) and --lan on
/// `app`, bound to `options`, which must outlive the parse.
void addDhtOptions(CLI::App& app, DhtOptions& options, const DhtOptionNames& names = {});

} // namespace swarm::cli

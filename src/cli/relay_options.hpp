#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace swarm::net {
class Credentials;
}
namespace swarm::wire {
class TrustList;
}
namespace swarm::relay {
class RelayServer;
}

namespace swarm::cli {

/// The relay options of `swarm-worker run` and `swarm-submit run`/`resume`,
/// as given: --relay HOST:PORT serves relay circuits for the peers on the
/// trust list; the rest are the owner's limits.
struct RelayOptions {
    std::optional<std::string> listen;
    std::uint64_t circuits = 16;
    std::uint64_t circuitMib = 16384;
    std::uint64_t mbit = 0;
};

void addRelayOptions(CLI::App& app, RelayOptions& options);

/// A relay started from the options, and where it is announced.
struct StartedRelay {
    std::unique_ptr<relay::RelayServer> server; ///< null without --relay
    std::vector<std::string> endpoints;         ///< relay::relayEndpoints()
    StartedRelay();
    StartedRelay(StartedRelay&&) noexcept;
    ~StartedRelay();
};

/// The relay the options ask for, serving the peers on `trust`. Throws
/// cli::UsageError for a bad value, std::system_error if it cannot listen.
StartedRelay startRelay(const RelayOptions& options, const net::Credentials& credentials,
                        const wire::TrustList& trust);

} // namespace swarm::cli

#include "cli/relay_options.hpp"

#include "cli/command_line.hpp"
#include "cli/options.hpp"
#include "net/credentials.hpp"
#include "net/peer_check.hpp"
#include "net/socket.hpp"
#include "relay/relay_server.hpp"
#include "wire/log.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace swarm::cli {

void addRelayOptions(CLI::App& app, RelayOptions& o) {
    app.add_option("--relay", o.listen,
                   "serve relay circuits on HOST:PORT for the peers on the trust list, so that "
                   "peers behind NAT reach each other through this one (host '*' is every "
                   "interface; default: no relay)")
        ->type_name("HOST:PORT");
    addNumber(app, "--relay-circuits", o.circuits, "relay circuits open at once");
    addNumber(app, "--relay-circuit-mib", o.circuitMib,
              "MiB one relay circuit may carry, both ways together (0: no limit)");
    addNumber(app, "--relay-mbit", o.mbit,
              "bandwidth of all relay circuits together, Mbit/s (0: no limit)");
}

StartedRelay::StartedRelay() = default;
StartedRelay::StartedRelay(StartedRelay&&) noexcept = default;
StartedRelay::~StartedRelay() = default;

StartedRelay startRelay(const RelayOptions& o, const net::Credentials& credentials,
                        const wire::TrustList& trust) {
    StartedRelay out;
    if (!o.listen)
        return out;
    auto where = net::Endpoint::parse(*o.listen);
    if (!where || !where->relay.empty())
        throw UsageError("--relay wants HOST:PORT, e.g. 0.0.0.0:7400, not '" + *o.listen + "'");
    if (o.circuits == 0 || o.circuits > 4096)
        throw UsageError("--relay-circuits must be from 1 to 4096");
    relay::RelayLimits limits;
    limits.circuits = o.circuits;
    limits.circuitBytes = o.circuitMib << 20;
    limits.bytesPerSecond = o.mbit * 1'000'000 / 8;
    const std::string& host = where->host; // "*": every interface, as net::listenTcp takes it
    // The peers on the trust list, and this peer itself: a worker that
    // relays for a submitter behind NAT reaches it through its own relay.
    auto allowed =
        net::allowIf([trust, self = credentials.publicKey()](const wire::PublicKey& key) {
            return key == self || trust.contains(key);
        });
    out.server = std::make_unique<relay::RelayServer>(credentials, std::move(allowed), host,
                                                      where->port, limits);
    out.endpoints = relay::relayEndpoints(host, out.server->port());
    wire::Logger("relay").info("relaying for the {} peer(s) on the trust list at {}; at most {} "
                               "circuit(s)",
                               trust.entries().size(), fmt::join(out.endpoints, ", "),
                               limits.circuits);
    return out;
}

} // namespace swarm::cli

#pragma once

#include "dht/bootstrap.hpp"
#include "net/interfaces.hpp"
#include "net/reachability.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swarm::submitter {

/// What a submitter knows of where it can be reached.
struct EndpointSources {
    std::string listenHost;             ///< as given to --listen ("" = every interface)
    std::uint16_t port = 0;             ///< the listener's port
    std::vector<std::string> advertise; ///< --advertise, "host:port", tried first
    std::vector<net::LocalAddress> interfaces;
    std::vector<std::string> publicHosts; ///< as the DHT sees us (behind NAT: the router)
    bool localSwarm = false;              ///< every peer is on this host
    std::vector<std::string> relayed;     ///< granted relay reservations (RelayPool)
};

/// The endpoints put into offers, the likeliest first and at most 16 (the
/// judge's limit): --advertise as given; then, when listening on one
/// address and nothing is advertised, that address; when listening on
/// every interface, loopback first if the swarm is local (else not at
/// all), global IPv6 (not when bound to 0.0.0.0), the public addresses the
/// DHT reports (they work where the router forwards the port), then IPv4.
/// No duplicates. Relayed endpoints come last and are never cut. Pure.
std::vector<std::string> offerEndpoints(const EndpointSources& s);
/// The same without the relayed ones.
std::vector<std::string> directEndpoints(const EndpointSources& s);

/// What the DHT tells of this host (net::reachability over the sources'
/// public hosts, interfaces and localSwarm).
net::Reach reach(const EndpointSources& s);

/// What the DHT says of this host's reachability, one line for the log:
/// net::describe()'s "reachable at A (...)" or "behind NAT (...)", the
/// latter followed by how workers outside reach it (the relays, or what
/// would help); nullopt while no DHT node has told us yet or the swarm is
/// local.
std::optional<std::string> reachability(const EndpointSources& s);

/// True when every bootstrap node is on this host: then loopback addresses
/// are worth offering (and offered first).
bool isLocalSwarm(const std::vector<dht::HostPort>& bootstrap);

} // namespace swarm::submitter

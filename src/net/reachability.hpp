#pragma once

#include "net/interfaces.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace swarm::net {

/// What the DHT tells of this host: unknown (no DHT node has said yet, or
/// the swarm is local), public (an address the DHT sees us at is one of
/// our interfaces), or behind NAT (it sees us elsewhere: a router's).
enum class Reach { kUnknown, kPublic, kBehindNat };

/// Where the DHT sees this host, judged against its own interfaces.
struct Reachability {
    Reach reach = Reach::kUnknown;
    /// kPublic: the address of ours the DHT sees; kBehindNat: the first
    /// address it sees (the router's); kUnknown: "".
    std::string host;

    bool operator==(const Reachability&) const = default;
};

/// Pure. `publicHosts` as dht::Node::publicHosts() gives them (empty until
/// a DHT node has answered), `interfaces` as localAddresses() does;
/// `localSwarm` when every peer is on this host (then loopback is all the
/// DHT sees, which tells nothing of the world outside: unknown).
Reachability reachability(const std::vector<std::string>& publicHosts,
                          const std::vector<LocalAddress>& interfaces, bool localSwarm);

/// The capacity record's word for it: "public", "behind-nat", or "" when
/// unknown (wire::kReachPublic, wire::kReachBehindNat).
std::string_view reachWord(Reach reach);

/// One line for a log or a status: "reachable at A (the DHT sees this host
/// at an address of its own)", "behind NAT: the DHT sees this host at X, an
/// address of none of its interfaces", or "" when unknown.
std::string describe(const Reachability& r);

/// For a peer `peerId` that serves relay circuits at `relays` ("host:port",
/// as announced): when it is behind NAT, a warning that peers outside its
/// network cannot reach the relay unless the router forwards the port, and
/// how they would name it then; "" otherwise.
std::string relayWarning(const Reachability& r, const std::vector<std::string>& relays,
                         const std::string& peerId);

/// True when every one of `bootstrapHosts` is on this host (loopback): a
/// personal swarm on one machine. False for none.
bool isLocalSwarm(const std::vector<std::string>& bootstrapHosts);

} // namespace swarm::net

#include "net/reachability.hpp"

#include "net/socket.hpp"
#include "wire/records.hpp"

#include <algorithm>

namespace swarm::net {

Reachability reachability(const std::vector<std::string>& publicHosts,
                          const std::vector<LocalAddress>& interfaces, bool localSwarm) {
    if (localSwarm || publicHosts.empty())
        return {};
    for (const auto& h : publicHosts)
        for (const auto& a : interfaces)
            if (a.host == h)
                return {Reach::kPublic, h};
    return {Reach::kBehindNat, publicHosts.front()};
}

std::string_view reachWord(Reach reach) {
    switch (reach) {
    case Reach::kPublic:
        return wire::kReachPublic;
    case Reach::kBehindNat:
        return wire::kReachBehindNat;
    case Reach::kUnknown:
        break;
    }
    return "";
}

std::string describe(const Reachability& r) {
    switch (r.reach) {
    case Reach::kPublic:
        return "reachable at " + r.host + " (the DHT sees this host at an address of its own)";
    case Reach::kBehindNat:
        return "behind NAT: the DHT sees this host at " + r.host +
               ", an address of none of its interfaces";
    case Reach::kUnknown:
        break;
    }
    return "";
}

std::string relayWarning(const Reachability& r, const std::vector<std::string>& relays,
                         const std::string& peerId) {
    if (r.reach != Reach::kBehindNat || relays.empty())
        return "";
    std::string text = "this host relays at " + relays.front() +
                       " but is behind NAT: peers outside its network cannot reach the relay";
    const auto relay = Endpoint::parse(relays.front());
    if (!relay)
        return text;
    // What is announced is a private address: a forwarded port is reached
    // at the router's, which peers must name themselves.
    const Endpoint outside{r.host, relay->port, peerId};
    return text + " unless the router forwards TCP port " + std::to_string(relay->port) +
           " to it, and then only if they name it with --relay-via " + outside.str();
}

bool isLocalSwarm(const std::vector<std::string>& bootstrapHosts) {
    return !bootstrapHosts.empty() &&
           std::all_of(bootstrapHosts.begin(), bootstrapHosts.end(), isLoopbackHost);
}

} // namespace swarm::net

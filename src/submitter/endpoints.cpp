#include "submitter/endpoints.hpp"

#include "net/socket.hpp"

#include <algorithm>

namespace swarm::submitter {

namespace {
constexpr std::size_t kMaxEndpoints = 16; // wire/judge's limit for an offer
} // namespace

std::vector<std::string> offerEndpoints(const EndpointSources& s) {
    auto out = directEndpoints(s);
    const std::size_t room = kMaxEndpoints - std::min(s.relayed.size(), kMaxEndpoints);
    if (out.size() > room)
        out.resize(room);
    for (const auto& r : s.relayed)
        if (out.size() < kMaxEndpoints)
            out.push_back(r);
    return out;
}

std::vector<std::string> directEndpoints(const EndpointSources& s) {
    std::vector<std::string> out;
    auto add = [&](const std::string& text) {
        if (out.size() < kMaxEndpoints && std::find(out.begin(), out.end(), text) == out.end())
            out.push_back(text);
    };
    auto addHost = [&](const std::string& host) { add(net::Endpoint{host, s.port}.str()); };
    for (const auto& a : s.advertise)
        add(a);
    if (!net::isAnyHost(s.listenHost)) {
        if (s.advertise.empty())
            addHost(s.listenHost);
        return out;
    }
    const bool v4only = s.listenHost == "0.0.0.0"; // "", "*", "::": dual-stack
    if (s.localSwarm)
        for (const auto& a : s.interfaces)
            if (a.loopback && !(v4only && a.ipv6))
                addHost(a.host);
    if (!v4only)
        for (const auto& a : s.interfaces)
            if (!a.loopback && a.ipv6)
                addHost(a.host);
    // The public address before private IPv4 ones: the cap cannot cut it.
    for (const auto& h : s.publicHosts)
        if (!(v4only && h.find(':') != std::string::npos))
            addHost(h);
    for (const auto& a : s.interfaces)
        if (!a.loopback && !a.ipv6)
            addHost(a.host);
    if (out.empty()) // no interface could be read
        addHost("127.0.0.1");
    return out;
}

net::Reach reach(const EndpointSources& s) {
    return net::reachability(s.publicHosts, s.interfaces, s.localSwarm).reach;
}

std::optional<std::string> reachability(const EndpointSources& s) {
    const auto r = net::reachability(s.publicHosts, s.interfaces, s.localSwarm);
    if (r.reach == net::Reach::kUnknown)
        return std::nullopt;
    std::string text = net::describe(r);
    if (r.reach == net::Reach::kPublic)
        return text;
    if (!s.relayed.empty())
        text += "; workers outside reach it through " + std::to_string(s.relayed.size()) +
                " relay(s): " + s.relayed.front();
    else if (s.advertise.empty())
        text += "; workers outside this network reach it only over IPv6, through a relay "
                "(none is known yet; see --relay-via), or if that port is forwarded to it "
                "(then pass it with --advertise)";
    return text;
}

bool isLocalSwarm(const std::vector<dht::HostPort>& bootstrap) {
    std::vector<std::string> hosts;
    for (const auto& b : bootstrap)
        hosts.push_back(b.host);
    return net::isLocalSwarm(hosts);
}

} // namespace swarm::submitter

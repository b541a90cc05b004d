#include "submitter/presence.hpp"

#include "net/interfaces.hpp"
#include "wire/log.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");
} // namespace

std::vector<net::Endpoint> relayCandidates(const std::vector<std::string>& via, net::Reach reach,
                                           const dht::DiscoverySnapshot& seen) {
    std::vector<net::Endpoint> out;
    for (const auto& text : via)
        if (auto e = net::Endpoint::parse(text))
            out.push_back(*e);
    if (reach != net::Reach::kBehindNat)
        return out;
    for (const auto& w : seen.workers) {
        if (w.record.reach == wire::kReachBehindNat)
            continue;
        for (const auto& text : w.record.relays)
            if (auto e = net::Endpoint::parse(text); e && e->relay.empty()) {
                e->relay = w.id.str();
                out.push_back(*e);
            }
    }
    return out;
}

bool OfferGate::open(const EndpointSources& where) const {
    const auto waited = std::chrono::steady_clock::now() - since;
    // Behind an IPv4 NAT, a global IPv6 address may well be reachable:
    // offers go out with it at once unless a relay is on its way.
    const bool globalV6 = std::any_of(where.interfaces.begin(), where.interfaces.end(),
                                      [](const auto& a) { return a.ipv6 && !a.loopback; });
    if (where.relayed.empty() && waited < std::chrono::seconds(15) &&
        (relaysWanted || (reach(where) == net::Reach::kBehindNat && !globalV6)))
        return false;
    return reach(where) != net::Reach::kUnknown || where.localSwarm ||
           !net::isAnyHost(where.listenHost) || !where.advertise.empty() ||
           waited >= std::chrono::seconds(5);
}

Presence::Presence(Parts parts, const std::vector<std::string>& relayEndpoints)
    : parts_(parts), where_{.listenHost = parts.options.listenHost,
                            .port = parts.port,
                            .advertise = parts.options.advertise,
                            .interfaces = net::localAddresses(),
                            .publicHosts = {},
                            .localSwarm = isLocalSwarm(parts.options.bootstrap)},
      relays_(parts.credentials, parts.trust, parts.listener) {
    kLog.info("listening for workers on {}", fmt::join(offerEndpoints(where_), ", "));
    if (relayEndpoints.empty())
        return;
    dht::Announcer::prepare(parts.node);
    relayRecord_ = std::make_unique<dht::Announcer>(parts.node, parts.identity, parts.clock);
    record_.software = "swarm-submit (relay only)";
    record_.relays = relayEndpoints;
    announceRelay();
}

void Presence::announceRelay() {
    if (auto ok = relayRecord_->announce(record_); !ok)
        kLog.warn("cannot announce the relay: {}", ok.error().what);
}

Presence::~Presence() {
    stop();
}

void Presence::refresh() {
    where_.publicHosts = parts_.node.publicHosts();
    auto candidates =
        relayCandidates(parts_.options.relayVia, reach(where_), parts_.discovery.snapshot());
    gate_.relaysWanted = !candidates.empty();
    relays_.update(candidates);
    where_.relayed = relays_.endpoints();
    if (auto now = reachability(where_); now && now != said_) {
        kLog.info("{}", *now);
        said_ = now;
    }
    // The relay record says where we stand, so that submitters behind NAT
    // skip a relay that is itself behind NAT (relayCandidates).
    const auto word = std::string(net::reachWord(reach(where_)));
    if (relayRecord_ && !word.empty() && word != record_.reach) {
        record_.reach = word;
        announceRelay();
    }
}

std::vector<std::string> Presence::endpoints() const {
    return gate_.open(where_) ? offerEndpoints(where_) : std::vector<std::string>{};
}

void Presence::stop() {
    relays_.update({});
    if (relayRecord_) {
        relayRecord_->withdraw();
        relayRecord_.reset();
    }
}

} // namespace swarm::submitter

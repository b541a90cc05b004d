#include "net/hole_punch.hpp"

#include "net/punch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace swarm::net {

namespace {

// Sends `msg` to the far end as the data of one relay-data.
template <typename T> std::expected<void, Error> sendThrough(Session& relay, const T& msg) {
    wire::RelayData data;
    data.data = wire::encodeMessage(msg);
    return relay.send(data);
}

// The far end's next message, carried in one relay-data.
template <typename T> std::expected<T, Error> receiveThrough(Session& relay, Deadline deadline) {
    auto raw = relay.receiveBy(deadline);
    if (!raw)
        return std::unexpected(raw.error());
    if (raw->type == wire::MsgType::kError) {
        auto err = relay.bodyOrBreak<wire::ErrorMsg>(*raw);
        return std::unexpected(
            Error(Error::Code::kClosed, "relay closed the circuit: " + (err ? err->message : "?")));
    }
    auto data = relay.bodyOrBreak<wire::RelayData>(*raw);
    if (!data)
        return std::unexpected(data.error());
    auto inner = wire::decodeMessage(data->data);
    if (!inner)
        return std::unexpected(Error(Error::Code::kProtocol, "far side: " + inner.error().what));
    auto body = wire::bodyAs<T>(*inner);
    if (!body)
        return std::unexpected(Error(Error::Code::kProtocol, "far side: " + body.error().what));
    return std::move(*body);
}

// Where an address leads: punched toward only within the scope our own
// observed address is in, so that a relay cannot aim a punch at our
// loopback or our LAN from the internet.
enum class Scope { kNever, kLoopback, kPrivate, kGlobal };

Scope scopeOf(const Endpoint& e) {
    std::uint8_t a[4];
    if (e.host.find(':') == std::string::npos) {
        if (::inet_pton(AF_INET, e.host.c_str(), a) != 1)
            return Scope::kNever;
        if (a[0] == 127)
            return Scope::kLoopback;
        if (a[0] == 0 || a[0] >= 224 || (a[0] == 169 && a[1] == 254))
            return Scope::kNever; // unspecified, multicast, reserved, broadcast, link-local
        if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
            (a[0] == 100 && (a[1] & 0xc0) == 64))
            return Scope::kPrivate;
        return Scope::kGlobal;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, e.host.c_str(), &v6) != 1)
        return Scope::kNever;
    if (IN6_IS_ADDR_LOOPBACK(&v6))
        return Scope::kLoopback;
    if (IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_LINKLOCAL(&v6) || IN6_IS_ADDR_MULTICAST(&v6) ||
        IN6_IS_ADDR_V4MAPPED(&v6))
        return Scope::kNever;
    if ((v6.s6_addr[0] & 0xfe) == 0xfc)
        return Scope::kPrivate;
    return Scope::kGlobal;
}

bool isV6(const Endpoint& e) {
    return e.host.find(':') != std::string::npos;
}

} // namespace

bool portKept(const std::string& observed, std::uint16_t localPort) {
    auto seen = Endpoint::parse(observed);
    return seen && seen->relay.empty() && seen->port == localPort;
}

bool punchable(const std::string& observed, const std::string& peerObserved,
               std::uint16_t localPort) {
    auto seen = Endpoint::parse(observed);
    auto peer = Endpoint::parse(peerObserved);
    if (!seen || !peer || !peer->relay.empty() || !portKept(observed, localPort))
        return false;
    const auto scope = scopeOf(*peer);
    return scope != Scope::kNever && scope == scopeOf(*seen) && isV6(*seen) == isV6(*peer) &&
           !(seen->host == peer->host && seen->port == peer->port);
}

std::expected<PunchOutcome, Error> punchCircuit(OpenCircuit& circuit, bool wanted,
                                                Deadline deadline) {
    PunchOutcome outcome;
    outcome.peer = circuit.opened.peerObserved;
    // Ready only with time for the punch and, should it fail, for the TLS
    // session over the circuit after it.
    const bool inTime = SteadyClock::now() + kPunchBudget + kAfterPunch <= deadline;
    wire::PunchPlan plan;
    plan.ready =
        wanted && inTime && punchable(circuit.opened.observed, outcome.peer, circuit.localPort);
    if (auto sent = sendThrough(*circuit.relay, plan); !sent)
        return std::unexpected(sent.error());
    auto theirs = receiveThrough<wire::PunchPlan>(*circuit.relay, deadline);
    if (!theirs)
        return std::unexpected(theirs.error());
    if (!plan.ready || !theirs->ready) {
        outcome.why = !wanted   ? "hole punching is off here"
                      : !inTime ? "too little time left to punch"
                      : !plan.ready
                          ? "our NAT did not keep our port, or the far side is out of reach"
                          : "the far side cannot punch";
        return outcome;
    }
    auto punched = punchTcp(circuit.localPort, *Endpoint::parse(outcome.peer),
                            std::min(deadline - kAfterPunch, SteadyClock::now() + kPunchBudget));
    wire::PunchResult result;
    result.connected = punched.has_value();
    if (auto sent = sendThrough(*circuit.relay, result); !sent)
        return std::unexpected(sent.error());
    auto theirResult = receiveThrough<wire::PunchResult>(*circuit.relay, deadline);
    if (!theirResult)
        return std::unexpected(theirResult.error());
    if (!punched)
        outcome.why = "punch failed: " + describe(punched.error());
    else if (!theirResult->connected)
        outcome.why = "the far side's punch failed";
    else
        outcome.direct = std::move(*punched);
    return outcome;
}

} // namespace swarm::net

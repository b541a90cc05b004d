#include "net/hole_punch.hpp"

#include "net/punch.hpp"

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

} // namespace

bool portKept(const std::string& observed, std::uint16_t localPort) {
    auto seen = Endpoint::parse(observed);
    return seen && seen->relay.empty() && seen->port == localPort;
}

std::expected<PunchOutcome, Error> punchCircuit(OpenCircuit& circuit, bool wanted,
                                                Deadline deadline) {
    PunchOutcome outcome;
    outcome.peer = circuit.opened.peerObserved;
    auto peer = Endpoint::parse(outcome.peer);
    wire::PunchPlan plan;
    plan.ready = wanted && peer && portKept(circuit.opened.observed, circuit.localPort);
    if (auto sent = sendThrough(*circuit.relay, plan); !sent)
        return std::unexpected(sent.error());
    auto theirs = receiveThrough<wire::PunchPlan>(*circuit.relay, deadline);
    if (!theirs)
        return std::unexpected(theirs.error());
    if (!plan.ready || !theirs->ready) {
        outcome.why = !wanted       ? "hole punching is off here"
                      : !plan.ready ? "our NAT did not keep our port"
                                    : "the far side cannot punch";
        return outcome;
    }
    auto punched =
        punchTcp(circuit.localPort, *peer, std::min(deadline, SteadyClock::now() + kPunchBudget));
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

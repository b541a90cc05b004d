#include "net/relay_client.hpp"

#include "net/circuit_bridge.hpp"
#include "wire/peer_id.hpp"

#include <system_error>

namespace swarm::net {

PeerCheck relayCheck(const PeerCheck& relays, const Endpoint& endpoint) {
    auto named = wire::PeerId::parse(endpoint.relay);
    return [relays, named](const wire::PublicKey& key) -> std::expected<void, Error> {
        if (!named || key != named->key())
            return std::unexpected(
                Error(Error::Code::kUntrusted, "the relay is not the peer the endpoint names"));
        if (!relays)
            return std::unexpected(Error(Error::Code::kUntrusted, "no relay is trusted here"));
        return relays(key);
    };
}

std::string relayLabel(const Endpoint& endpoint) {
    Endpoint direct{endpoint.host, endpoint.port, {}};
    return "via relay " + endpoint.relay.substr(0, 12) + " (" + direct.str() + ")";
}

namespace {
constexpr std::string_view kPunchedPrefix = "hole-punched ";
}

std::string punchedLabel(const std::string& peer) {
    return std::string(kPunchedPrefix) + peer;
}

std::string_view sessionPath(std::string_view address) {
    if (address.starts_with("via relay "))
        return "relayed";
    if (address.starts_with(kPunchedPrefix))
        return "hole-punched";
    return "direct";
}

namespace {

// Connects to the relay, sends `first` and waits for relay-opened.
template <typename First>
std::expected<OpenCircuit, Error> openWith(const Credentials& credentials, const Endpoint& endpoint,
                                           const PeerCheck& relays, const First& first,
                                           const SessionLimits& limits, Deadline deadline) {
    if (endpoint.relay.empty())
        return std::unexpected(Error(Error::Code::kProtocol, endpoint.str() + " is not a relay"));
    auto fd = connectTcp(endpoint, deadline, /*shareablePort=*/true);
    if (!fd)
        return std::unexpected(fd.error());
    std::uint16_t port = 0;
    try {
        port = localPort(fd->get());
    } catch (const std::system_error& e) {
        return std::unexpected(Error(Error::Code::kIo, e.what()));
    }
    auto session = Session::handshake(std::move(*fd), credentials, Role::kClient,
                                      relayCheck(relays, endpoint), limits, deadline);
    if (!session)
        return std::unexpected(session.error());
    if (auto sent = (*session)->send(first); !sent)
        return std::unexpected(sent.error());
    auto raw = (*session)->receiveBy(deadline);
    if (!raw)
        return std::unexpected(raw.error());
    if (raw->type == wire::MsgType::kError) {
        auto err = (*session)->bodyOrBreak<wire::ErrorMsg>(*raw);
        return std::unexpected(
            Error(Error::Code::kRefused, "relay said: " + (err ? err->message : err.error().what)));
    }
    auto opened = (*session)->bodyOrBreak<wire::RelayOpened>(*raw);
    if (!opened)
        return std::unexpected(opened.error());
    return OpenCircuit{std::move(*session), std::move(*opened), port};
}

} // namespace

std::expected<OpenCircuit, Error> connectCircuit(const Credentials& credentials,
                                                 const Endpoint& endpoint, const PeerCheck& relays,
                                                 const wire::PublicKey& target,
                                                 const SessionLimits& limits, Deadline deadline) {
    wire::RelayConnect connect;
    connect.target = wire::PeerId(target).str();
    return openWith(credentials, endpoint, relays, connect, limits, deadline);
}

std::expected<OpenCircuit, Error> acceptCircuit(const Credentials& credentials,
                                                const Endpoint& endpoint, const PeerCheck& relays,
                                                const wire::CircuitId& circuit,
                                                const SessionLimits& limits, Deadline deadline) {
    wire::RelayAccept accept;
    accept.circuit = circuit;
    return openWith(credentials, endpoint, relays, accept, limits, deadline);
}

std::expected<std::unique_ptr<Session>, Error>
sessionOverCircuit(OpenCircuit circuit, const Endpoint& endpoint, const Credentials& credentials,
                   Role role, PeerCheck check, const SessionLimits& limits, Deadline deadline) {
    const std::string label = relayLabel(endpoint);
    auto started = CircuitBridge::start(std::move(circuit.relay), label);
    if (!started)
        return std::unexpected(started.error());
    auto session = Session::handshake(std::move(started->socket), credentials, role,
                                      std::move(check), limits, deadline);
    if (!session)
        return std::unexpected(session.error());
    (*session)->setPeerAddress(label);
    (*session)->keepWith(std::move(started->bridge));
    return session;
}

} // namespace swarm::net

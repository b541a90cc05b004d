#pragma once

// The two ends of a relay circuit, as seen from the peers (the relay itself
// is relay/relay_server.hpp). docs/protocol.md "Relay" has the exchange.

#include "net/credentials.hpp"
#include "net/error.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "net/socket.hpp"
#include "wire/identity.hpp"
#include "wire/messages.hpp"

#include <expected>
#include <memory>

namespace swarm::net {

/// What a peer needs to dial through relays: which relays it trusts (its
/// allow-list) and the peer at the circuit's far end (an offer's submitter).
struct RelayRoute {
    PeerCheck relays;
    wire::PublicKey target{};
    bool punch = true; ///< try to replace each circuit by a hole punch
};

/// Accepts the relay a relayed endpoint names: its key must be the
/// endpoint's relay peer id and pass `relays`.
PeerCheck relayCheck(const PeerCheck& relays, const Endpoint& endpoint);

/// A circuit the relay reported open, and its session to the relay.
struct OpenCircuit {
    std::unique_ptr<Session> relay;
    wire::RelayOpened opened;
    std::uint16_t localPort = 0; ///< of the connection to the relay; shareable for a punch
};

/// The dialing side: connects to the relay `endpoint` names and asks for a
/// circuit to `target`. kRefused with the relay's reason when it says no
/// ("no reservation for ...", "at its limit of N circuits").
std::expected<OpenCircuit, Error> connectCircuit(const Credentials& credentials,
                                                 const Endpoint& endpoint, const PeerCheck& relays,
                                                 const wire::PublicKey& target,
                                                 const SessionLimits& limits, Deadline deadline);

/// The reserved side: a new connection to the relay taking `circuit`, which
/// the relay announced with relay-incoming on the reservation.
std::expected<OpenCircuit, Error> acceptCircuit(const Credentials& credentials,
                                                const Endpoint& endpoint, const PeerCheck& relays,
                                                const wire::CircuitId& circuit,
                                                const SessionLimits& limits, Deadline deadline);

/// Runs the end-to-end TLS session in `role` over an open circuit (the
/// dialing side: kClient), checking the far peer with `check`. The session
/// owns the circuit; its peerAddress() names the relay.
std::expected<std::unique_ptr<Session>, Error>
sessionOverCircuit(OpenCircuit circuit, const Endpoint& endpoint, const Credentials& credentials,
                   Role role, PeerCheck check, const SessionLimits& limits, Deadline deadline);

/// "via relay sw1abcdefgh (203.0.113.3:7400)", for logs and summaries.
std::string relayLabel(const Endpoint& endpoint);
/// "hole-punched 198.51.100.7:40112": a session over a punched connection
/// to that (public) address.
std::string punchedLabel(const std::string& peer);
/// The path a session address made by the above names: "relayed",
/// "hole-punched", or "direct" for any other address.
std::string_view sessionPath(std::string_view address);

} // namespace swarm::net

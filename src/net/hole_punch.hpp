#pragma once

// Replacing a relay circuit by a direct connection: the two ends of a
// circuit just opened trade punch plans through it and, when both can,
// punch a TCP connection between the addresses the relay saw
// (docs/protocol.md "Hole punching").

#include "base/unique_fd.hpp"
#include "net/error.hpp"
#include "net/relay_client.hpp"
#include "net/socket.hpp"

#include <chrono>
#include <expected>
#include <string>

namespace swarm::net {

/// How long the punch itself may take, once both sides are ready for it.
inline constexpr std::chrono::milliseconds kPunchBudget{3000};
/// The time an end keeps, after its punch, for the session's TLS (over the
/// circuit, should the punch fail): an end with less than kPunchBudget and
/// this left before its deadline does not punch.
inline constexpr std::chrono::milliseconds kAfterPunch{3000};

/// What punchCircuit() came to.
struct PunchOutcome {
    /// The punched connection, when both sides connected; the circuit is
    /// then no longer needed. Empty: the session stays on the circuit.
    base::UniqueFd direct;
    std::string peer; ///< the far side's address, as the relay saw it
    std::string why;  ///< when not direct: why, for logs
};

/// True when the relay saw `observed` ("ip:port") as the source of our
/// connection from `localPort`: no NAT between us, or one that keeps ports,
/// so the far side can punch to that address.
bool portKept(const std::string& observed, std::uint16_t localPort);

/// Whether an end may punch from `localPort` (its relay connection's) toward
/// `peerObserved`: portKept(), both addresses numeric, of one family and of
/// one scope (loopback, private or global; never toward an unspecified,
/// link-local, multicast or broadcast address), and not the same. Both
/// ends see the same two addresses, mirrored, so the scope and family
/// rules give both the same answer; a relay cannot aim a punch from the
/// internet at an end's loopback or LAN. Pure.
bool punchable(const std::string& observed, const std::string& peerObserved,
               std::uint16_t localPort);

/// Both ends of `circuit` call this right after relay-opened, before their
/// TLS session: each sends punch-plan (ready when `wanted`, punchable() and
/// at least kPunchBudget + kAfterPunch before `deadline`),
/// reads the other's, and when both are ready punches from the circuit's
/// local port to the other's observed address for up to kPunchBudget, then
/// they trade punch-result. The connection is used only when both connected,
/// so both ends always agree. Bounded by `deadline`; an error means the
/// circuit itself failed (a far side that sent something else, the relay
/// closing it) and cannot carry the session either.
std::expected<PunchOutcome, Error> punchCircuit(OpenCircuit& circuit, bool wanted,
                                                Deadline deadline);

} // namespace swarm::net

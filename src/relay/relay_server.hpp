#pragma once

#include "net/credentials.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "relay/circuit.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace swarm::relay {

/// What a relay's owner allows (swarm-worker/swarm-submit --relay-* flags).
struct RelayLimits {
    std::size_t reservations = 64; ///< peers reachable through this relay at once
    std::size_t circuits = 16;     ///< open circuits at once
    /// Bytes one circuit may carry, both directions together (0: no limit).
    std::uint64_t circuitBytes = 16ull << 30;
    /// How long one circuit may stay open (0: no limit).
    std::chrono::milliseconds circuitDuration = std::chrono::hours(24);
    /// All circuits together, bytes per second (0: no limit).
    std::uint64_t bytesPerSecond = 0;
    /// A reservation not renewed (relay-reserve) within this lapses.
    std::chrono::milliseconds reservationTtl = std::chrono::seconds(45);
    /// How long a circuit waits for the reserved peer to take it: well
    /// within a dialer's handshake bound (10 s), so it hears the reason.
    std::chrono::milliseconds acceptWait = std::chrono::seconds(5);
    /// Bounds of every connection to the relay (handshake, frame, write: a
    /// side that stops reading for this long ends its circuit).
    net::SessionLimits session{};
};

/// Where a relay listening on host:port is announced (capacity record): the
/// host itself; for every interface ("*", "", "::"), this host's
/// non-loopback addresses (at most 4, IPv6 first; "0.0.0.0": IPv4 only), or
/// loopback ones when it has no other.
std::vector<std::string> relayEndpoints(const std::string& host, std::uint16_t port);

/// Counters for status output and tests; a snapshot.
struct RelayStats {
    std::size_t reservations = 0; ///< held now
    std::size_t circuits = 0;     ///< open now
    std::uint64_t circuitsOpened = 0;
    std::uint64_t refused = 0; ///< requests answered with an error
    std::uint64_t bytes = 0;   ///< relayed, all circuits
    net::ListenerStats listener;
};

/// Serves relay circuits for the peers on its allow-list: a peer behind NAT
/// keeps a reservation (an outbound connection), another peer asks for a
/// circuit to it, and the relay passes relay-data between the two
/// connections without reading it (it carries the peers' own end-to-end
/// TLS). Peers not on the allow-list fail the TLS handshake.
/// docs/protocol.md "Relay" has the messages.
class RelayServer {
public:
    /// Listens on host:port (port 0 picks one). Throws std::system_error
    /// if it cannot bind.
    RelayServer(const net::Credentials& credentials, net::PeerCheck allowed, std::string host,
                std::uint16_t port, RelayLimits limits = {});
    ~RelayServer();
    RelayServer(const RelayServer&) = delete;
    RelayServer& operator=(const RelayServer&) = delete;

    std::uint16_t port() const noexcept;
    RelayStats stats() const;
    /// Stops listening and ends every reservation and circuit. Idempotent.
    void stop();

private:
    struct Reservation;
    struct Pending;
    void serve(net::Session& session);
    void reserve(net::Session& session);
    void holdReservation(Reservation& mine);
    std::shared_ptr<Circuit> awaitAcceptor(net::Session& session, Reservation& reservation,
                                           const wire::CircuitId& id,
                                           const std::shared_ptr<Pending>& pending);
    void connect(net::Session& session, const wire::RelayConnect& request);
    void accept(net::Session& session, const wire::RelayAccept& request);
    void refuse(net::Session& session, const std::string& why);
    void countRefusal(net::Session& session, const std::string& why);
    std::shared_ptr<Reservation> reservationFor(const wire::PublicKey& key);
    wire::CircuitId newCircuitId();

    RelayLimits limits_;
    Bandwidth bandwidth_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<wire::PublicKey, std::shared_ptr<Reservation>> reservations_;
    std::map<wire::CircuitId, std::shared_ptr<Pending>> pending_;
    std::size_t circuits_ = 0;
    std::map<wire::PublicKey, std::size_t> circuitsFrom_; // by dialing peer
    bool stopping_ = false;
    std::uint64_t opened_ = 0;
    std::uint64_t refused_ = 0;
    std::atomic<std::uint64_t> bytes_{0};
    std::unique_ptr<net::Listener> listener_; // last: its threads use the above
};

} // namespace swarm::relay

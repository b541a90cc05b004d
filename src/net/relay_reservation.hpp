#pragma once

#include "base/unique_fd.hpp"
#include "net/credentials.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "net/socket.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace swarm::net {

/// Keeps this peer reachable through one relay (docs/protocol.md "Relay"):
/// an outbound reservation connection, renewed well within the relay's
/// lifetime for it, and made again after a drop (1 s, doubling to 30 s).
/// For each relay-incoming from a peer `peers` accepts, a new connection to
/// the relay takes the circuit, the two ends try a hole punch
/// (net/hole_punch.hpp), and the punched connection or else the circuit's
/// local socket goes to `onCircuit` (e.g. Listener::adopt), which runs the
/// usual TLS server side over it. Thread-safe; one thread, plus one per circuit being taken.
class RelayReservation {
public:
    /// A circuit's local end: the socket, a label for logs ("via relay
    /// ..."), and what must live as long as the socket is used.
    using OnCircuit =
        std::function<void(base::UniqueFd socket, std::string label, std::shared_ptr<void> keep)>;
    struct Options {
        std::chrono::milliseconds renew{15'000};
        std::chrono::milliseconds firstRetry{1'000};
        std::chrono::milliseconds maxRetry{30'000};
        SessionLimits limits{};
        bool punch = true; ///< try to replace each circuit by a hole punch
    };

    /// `relay` must name the relay ("relay:<peer-id>@host:port"); its key
    /// must pass `relays`. Starts at once.
    RelayReservation(const Credentials& credentials, Endpoint relay, PeerCheck relays,
                     PeerCheck peers, OnCircuit onCircuit, Options options);
    RelayReservation(const Credentials& credentials, Endpoint relay, PeerCheck relays,
                     PeerCheck peers, OnCircuit onCircuit)
        : RelayReservation(credentials, std::move(relay), std::move(relays), std::move(peers),
                           std::move(onCircuit), Options{}) {}
    /// stop().
    ~RelayReservation();
    RelayReservation(const RelayReservation&) = delete;
    RelayReservation& operator=(const RelayReservation&) = delete;

    /// The endpoint to advertise: this relay, for circuits to us.
    const Endpoint& endpoint() const noexcept { return relay_; }
    /// True while the relay holds the reservation.
    bool active() const;
    /// This peer's address as the relay sees it ("" before the first).
    std::string observed() const;
    /// "reserved on ...", or "connecting to ... (last: why)", for logs.
    std::string state() const;
    /// Ends the reservation and the circuits being taken. Idempotent.
    void stop();
    /// Asks it to end without waiting; finished() says when it has (then
    /// the destructor does not block).
    void requestStop();
    bool finished() const;

private:
    struct Held {
        Session& session;
        SteadyClock::time_point lastAnswer; ///< the relay's last relay-reserved
        SteadyClock::time_point lastSent;   ///< our last relay-reserve
        std::chrono::milliseconds ttl;      ///< silence for longer ends it
    };
    void run();
    bool holdOnce();
    bool serveOnce(Held& held);
    void takeCircuit(const wire::RelayIncoming& incoming);
    struct Taking;
    void take(Taking& taking, const wire::RelayIncoming& incoming);
    void setState(bool active, std::string note);
    void reap(bool all);

    Credentials creds_;
    Endpoint relay_;
    PeerCheck relays_;
    PeerCheck peers_;
    OnCircuit onCircuit_;
    Options options_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool finished_ = false;
    bool active_ = false;
    std::string observed_;
    std::string note_;
    Session* current_ = nullptr; // the reservation connection, to abort on stop
    struct Taking {
        std::thread thread;
        bool done = false;
    };
    std::list<Taking> taking_;
    std::thread thread_;
};

} // namespace swarm::net

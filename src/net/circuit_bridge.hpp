#pragma once

#include "base/unique_fd.hpp"
#include "net/error.hpp"
#include "net/session.hpp"

#include <atomic>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace swarm::net {

/// Carries an open relay circuit: the relay-data messages of the session
/// to the relay on one side, a plain byte stream on the other (one end of
/// a socketpair), so that the end-to-end TLS session runs over the circuit
/// exactly as over a TCP socket. Two threads, one per direction.
///
/// The circuit ends when either side ends: the end-to-end session closing
/// its socket, the relay closing the circuit (its error text is the
/// reason, logged), or a write that the other side does not take within the
/// relay session's write limit.
class CircuitBridge {
public:
    struct Started {
        base::UniqueFd socket; ///< for the end-to-end session
        std::shared_ptr<CircuitBridge> bridge;
    };
    /// Starts carrying `relay`, a session on which relay-opened was just
    /// received. `label` names the circuit in logs. The bridge must outlive
    /// every use of the socket (Session::keepWith).
    static std::expected<Started, Error> start(std::unique_ptr<Session> relay, std::string label);

    /// Ends the circuit and joins both threads.
    ~CircuitBridge();
    CircuitBridge(const CircuitBridge&) = delete;
    CircuitBridge& operator=(const CircuitBridge&) = delete;

    /// Why the circuit ended; empty while it is open.
    std::string endReason() const;

private:
    CircuitBridge(std::unique_ptr<Session> relay, base::UniqueFd local, std::string label);
    void up();   // local socket -> relay-data
    void down(); // relay-data -> local socket
    void end(const std::string& reason);

    std::unique_ptr<Session> relay_;
    base::UniqueFd local_;
    std::string label_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::string reason_;
    std::thread up_;
    std::thread down_;
};

} // namespace swarm::net

#pragma once

#include "net/session.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace swarm::relay {

/// A relay's bandwidth, shared by all its circuits: a token bucket of one
/// second's worth. Thread-safe.
class Bandwidth {
public:
    /// 0: no limit.
    explicit Bandwidth(std::uint64_t bytesPerSecond);
    /// Waits until `bytes` may pass; false if `stopped()` turned true
    /// meanwhile (looked at every 100 ms).
    bool take(std::size_t bytes, const std::function<bool()>& stopped);

private:
    const std::uint64_t rate_;
    std::mutex mutex_;
    double tokens_ = 0;
    std::chrono::steady_clock::time_point last_;
};

/// One open circuit on the relay: the dialing side's session `a` and the
/// reserved side's `b`. Each side's handler thread calls pump() with its own
/// session, which passes that session's relay-data to the other, then
/// finish(), which returns once both pumps are over (so neither session is
/// used after its handler returns). The first side to end, or a limit, closes
/// the circuit: both sides get an error naming the reason.
class Circuit {
public:
    struct Limits {
        std::uint64_t bytes = 0;               ///< both directions (0: none)
        std::chrono::milliseconds duration{0}; ///< (0: none)
    };
    Circuit(net::Session& a, net::Session& b, Limits limits, Bandwidth& bandwidth,
            std::atomic<std::uint64_t>& relayed, std::string label);

    /// Sends relay-opened to both sides (telling each the other's address
    /// and the limits). False, with the circuit closed, if either fails.
    bool open();
    void pump(net::Session& from);
    void finish();
    /// Closes the circuit with `reason` (the first reason wins). Any thread.
    void close(const std::string& reason);
    std::string reason() const;
    std::uint64_t bytes() const noexcept { return bytes_; }

private:
    net::Session& other(net::Session& s) { return &s == &a_ ? b_ : a_; }
    std::mutex& sendLock(net::Session& s) { return &s == &a_ ? sendA_ : sendB_; }
    std::string name(net::Session& s) const;

    net::Session& a_;
    net::Session& b_;
    const Limits limits_;
    Bandwidth& bandwidth_;
    std::atomic<std::uint64_t>& relayed_;
    const std::string label_;
    const std::chrono::steady_clock::time_point openedAt_;
    std::mutex sendA_, sendB_;
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<bool> closed_{false};
    mutable std::mutex mutex_;
    std::condition_variable done_;
    std::string reason_;
    int pumpsOver_ = 0;
};

} // namespace swarm::relay

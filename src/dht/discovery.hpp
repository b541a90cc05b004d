#pragma once

#include "dht/worker_table.hpp"
#include "wire/trust_list.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace swarm::wire {
class Clock;
}

namespace swarm::dht {

class Node;

struct DiscoveryOptions {
    /// Delay between the first repeated gets; doubles after each get up to
    /// maxRegetInterval. OpenDHT's get can miss values; listen plus
    /// repeated gets plus the table (a cache of what was seen) converge.
    std::chrono::milliseconds firstRegetInterval = std::chrono::milliseconds(500);
    std::chrono::milliseconds maxRegetInterval = std::chrono::seconds(30);
    /// While some allow-listed worker has not been seen, the interval stops
    /// growing here: a young overlay places records late, and one missed
    /// get must not cost half a minute.
    std::chrono::milliseconds searchingRegetInterval = std::chrono::seconds(2);
    /// Allowed clock skew for "issued in the future".
    std::int64_t maxSkewMs = 60'000;
};

/// A point-in-time copy of what discovery knows.
struct DiscoverySnapshot {
    std::int64_t nowMs = 0;                                ///< the clock when taken
    std::vector<WorkerEntry> workers;                      ///< trusted, live, sorted by peer id
    std::array<std::uint64_t, kSkipReasonCount> skipped{}; ///< by SkipReason
    std::uint64_t distinctValues = 0;                      ///< distinct values examined
    std::uint64_t getsDone = 0;                            ///< completed gets
    std::uint64_t skippedTotal() const noexcept {
        std::uint64_t n = 0;
        for (auto c : skipped)
            n += c;
        return n;
    }
    /// How old a listed worker's record is at nowMs (issued-at to now, >= 0).
    std::int64_t ageMs(const WorkerEntry& w) const noexcept {
        return nowMs > w.issuedAtMs ? nowMs - w.issuedAtMs : 0;
    }
    std::uint64_t skippedFor(SkipReason r) const noexcept {
        return skipped[static_cast<std::size_t>(r)];
    }
};

/// The submitter's side of discovery: listens on the swarm's workers key,
/// repeats gets with backoff, and keeps the verified, allow-listed workers
/// in a WorkerTable. DHT callbacks run on the node's loop; snapshot() and
/// waitUntil() may be called from any thread. Borrows `node` and `clock`.
class Discovery {
public:
    Discovery(Node& node, wire::TrustList trust, const wire::Clock& clock,
              DiscoveryOptions options = {});
    /// Cancels the listen; pending callbacks become no-ops.
    ~Discovery();
    Discovery(const Discovery&) = delete;
    Discovery& operator=(const Discovery&) = delete;

    /// Starts listening and the repeated gets. Call once.
    void start();
    DiscoverySnapshot snapshot() const;
    /// Blocks until `pred(snapshot())` holds (re-checked on every change
    /// and every 100 ms) or `timeout` passes; returns the last verdict.
    bool waitUntil(const std::function<bool(const DiscoverySnapshot&)>& pred,
                   std::chrono::milliseconds timeout) const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

} // namespace swarm::dht

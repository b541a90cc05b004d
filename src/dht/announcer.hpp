#pragma once

#include "wire/bytes.hpp"
#include "wire/error.hpp"
#include "wire/records.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace swarm::wire {
class Clock;
class Identity;
} // namespace swarm::wire

namespace swarm::dht {

class Node;

/// Timing of a worker's announcements.
struct AnnouncerOptions {
    /// Envelope lifetime (expires - issued). Bounds how long a crashed
    /// worker stays listed. Must stay under OpenDHT's 10-minute value expiry.
    std::chrono::milliseconds lifetime = std::chrono::minutes(5);
    /// How often a fresh record (new sequence, new value id) is put.
    std::chrono::milliseconds refresh = std::chrono::minutes(2);
    /// Extra refreshes soon after announce(), before the regular period: a
    /// node that has just joined sees only part of the overlay, and its
    /// first put can land on nodes that lookups from elsewhere never ask.
    /// Each re-put repeats the lookup with a fuller routing table.
    std::vector<std::chrono::milliseconds> earlyRefresh = {std::chrono::seconds(3),
                                                           std::chrono::seconds(10)};
    /// How long withdraw() waits for the tombstone put to be acknowledged.
    std::chrono::milliseconds withdrawWait = std::chrono::seconds(3);
};

/// The largest packed DHT value a capacity record may produce. OpenDHT sends
/// a value inline in a reply only while it stays under 600 bytes
/// (NetworkEngine::MAX_PACKET_VALUE_SIZE); 20 bytes are kept in hand.
inline constexpr std::size_t kMaxRecordValueBytes = 580;

/// Signs a capacity record into an envelope for `swarm` (domain
/// "swarm/v1/<swarm>", type kCapacity). `record.peerId` is set to `id`'s.
/// kTooLarge if the packed DHT value would exceed kMaxRecordValueBytes.
std::expected<wire::Bytes, wire::Error>
encodeCapacity(const wire::Identity& id, std::string_view swarm, wire::CapacityRecord record,
               std::int64_t issuedAtMs, std::int64_t lifetimeMs);

/// A worker's presence under the swarm's workers key.
///
/// Every refresh puts a new envelope with a higher sequence under a fresh
/// OpenDHT value id (storing nodes refuse new content under an id they
/// hold) and cancels the previous put; readers keep the newest sequence per
/// worker. withdraw() puts a tombstone (withdrawn = true, higher sequence).
///
/// Borrows `node`, `id` and `clock`; all must outlive it. Thread-safe.
class Announcer {
public:
    Announcer(Node& node, const wire::Identity& id, const wire::Clock& clock,
              AnnouncerOptions options = {});
    /// withdraw() if still announced (blocks up to options.withdrawWait).
    ~Announcer();
    Announcer(const Announcer&) = delete;
    Announcer& operator=(const Announcer&) = delete;

    /// Starts the lookup an announcement from `node` needs (the nodes
    /// closest to the swarm's workers key; Node::prepareSearch), without
    /// fetching any record, so that a first announce() on `node` made later
    /// puts straight to those nodes: a listening submitter hears of it
    /// about one round trip after announce() instead of after a lookup
    /// (4-5 round trips) and that. Call it as soon as the node is up, well
    /// before announcing (swarm-worker: before its sandbox checks); useful
    /// for about 10 minutes. Returns at once; `onDone(ok)` runs on
    /// node.loop() when the lookup is over. Cheap to call again.
    static void prepare(Node& node, std::function<void(bool ok)> onDone = {});

    /// Starts announcing `record`, or replaces the announced one (e.g. free
    /// slots changed) right away with a higher sequence. `peerId`,
    /// `sequence` and `withdrawn` are filled in here. kTooLarge if the
    /// record does not fit; kInvalidArgument after withdraw().
    std::expected<void, wire::Error> announce(wire::CapacityRecord record);

    /// Stops refreshing and puts a tombstone. Waits (bounded) for OpenDHT
    /// to confirm the put when called off the node's loop thread; returns
    /// whether it was confirmed. Idempotent.
    bool withdraw();

    /// The sequence of the last record put (0 before the first).
    std::uint64_t sequence() const;
    /// Packed DHT value size of the last record put.
    std::size_t lastValueSize() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

} // namespace swarm::dht

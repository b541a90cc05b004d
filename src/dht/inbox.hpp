#pragma once

#include "dht/offer_box.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>

namespace swarm::wire {
class Clock;
class Identity;
class PeerId;
} // namespace swarm::wire

namespace swarm::dht {

class Node;

/// A worker's inbox: listens on "swarm/v1/inbox/<own peer id>" and hands
/// each offer that passes OfferBox to `onOffer`.
///
/// `onOffer` runs on the node's loop thread: it must be quick (post the
/// offer to the owner's own loop). Borrows node, self and clock.
class Inbox {
public:
    using OfferCallback = std::function<void(ReceivedOffer)>;

    Inbox(Node& node, const wire::Identity& self, wire::TrustList trust, const wire::Clock& clock,
          OfferCallback onOffer);
    /// Cancels the listen; callbacks already queued become no-ops.
    ~Inbox();
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    /// Per-reason refusal counts so far. Thread-safe.
    std::array<std::uint64_t, kOfferRefusalCount> refused() const;
    std::uint64_t refused(OfferRefusal r) const { return refused()[static_cast<std::size_t>(r)]; }
    /// Offers accepted so far. Thread-safe.
    std::uint64_t accepted() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

/// Seals `offer` to `worker` (see sealOffer) and puts it under the
/// worker's inbox key with a fresh value id. `onDone` runs on the node's
/// loop with OpenDHT's verdict on the put. Thread-safe.
void postOffer(Node& node, const wire::Identity& submitter, const wire::PeerId& worker,
               wire::Offer offer, const wire::Clock& clock,
               std::int64_t lifetimeMs = kDefaultOfferLifetimeMs,
               std::function<void(bool ok)> onDone = {});

/// Puts already sealed bytes into `worker`'s inbox (fresh value id). For
/// re-posting and for tests that build hostile values.
void postSealed(Node& node, const wire::PeerId& worker, wire::Bytes sealed,
                std::function<void(bool ok)> onDone = {});

} // namespace swarm::dht

#pragma once

#include "dht/offer_box.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace swarm::worker {

/// Offers waiting for the worker's main loop to act on.
///
/// Several offers from one submitter collapse to the newest: when a worker
/// starts, the DHT still holds the offers of the last minute, including
/// those an earlier run of this worker used (their tokens are spent, their
/// endpoints may be gone) next to a restarted submitter's fresh one. An
/// offer from a submitter the worker is still dialing (or whose session
/// ended but still runs its last units) waits until that ends; one from a
/// submitter it already works for is dropped, as is an expired one (the
/// caller's LinkOf says which, per offer). Not
/// thread-safe (the caller's lock guards it).
class OfferQueue {
public:
    /// kDialing: a session that is not connected and not finished (dialing,
    /// or ended and running its last units).
    enum class LinkState { kNone, kDialing, kConnected };
    using LinkOf = std::function<LinkState(const dht::ReceivedOffer& offer)>;

    /// Queues `offer`, or replaces an older queued offer from its submitter.
    void push(dht::ReceivedOffer offer);

    /// The offers to dial now, in the order they came; the others stay
    /// queued (dialing) or are dropped (connected, expired).
    std::vector<dht::ReceivedOffer> take(const LinkOf& linkOf, std::int64_t nowMs);

    bool empty() const { return offers_.empty(); }
    std::size_t size() const { return offers_.size(); }

private:
    std::deque<dht::ReceivedOffer> offers_;
};

} // namespace swarm::worker

#include "worker/offer_queue.hpp"

#include <algorithm>

namespace swarm::worker {

void OfferQueue::push(dht::ReceivedOffer offer) {
    auto same = std::find_if(offers_.begin(), offers_.end(),
                             [&](const auto& o) { return o.submitter == offer.submitter; });
    if (same == offers_.end())
        offers_.push_back(std::move(offer));
    else if (offer.issuedAtMs >= same->issuedAtMs)
        *same = std::move(offer);
}

std::vector<dht::ReceivedOffer> OfferQueue::take(const LinkOf& linkOf, std::int64_t nowMs) {
    std::vector<dht::ReceivedOffer> ready;
    std::deque<dht::ReceivedOffer> waiting;
    for (auto& offer : offers_) {
        if (offer.expiresAtMs <= nowMs)
            continue;
        switch (linkOf(offer)) {
        case LinkState::kNone:
            ready.push_back(std::move(offer));
            break;
        case LinkState::kDialing:
            waiting.push_back(std::move(offer));
            break;
        case LinkState::kConnected:
            break;
        }
    }
    offers_ = std::move(waiting);
    return ready;
}

} // namespace swarm::worker

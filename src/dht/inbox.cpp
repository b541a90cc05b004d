#include "dht/inbox.hpp"

#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "dht/stop_listening.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <deque>
#include <mutex>
#include <set>

namespace swarm::dht {

namespace {
const wire::Logger kLog("dht");
constexpr std::size_t kSeenCapacity = 4096;
} // namespace

struct Inbox::State {
    Node& node;
    const wire::Clock& clock;
    OfferCallback onOffer;
    mutable std::mutex mutex;
    OfferBox box;
    // OpenDHT re-delivers the same stored value (listen refreshes); those
    // are not replays and must not be counted as such.
    std::set<wire::Digest> seen;
    std::deque<wire::Digest> seenOrder;
    std::uint64_t listenToken = 0;
    bool stopped = false;

    State(Node& n, const wire::Identity& self, wire::TrustList trust, const wire::Clock& c,
          OfferCallback cb)
        : node(n), clock(c), onOffer(std::move(cb)), box(self, n.swarm(), std::move(trust)) {}

    // Runs on the node's loop thread.
    void handle(const std::vector<DhtValue>& values) {
        std::vector<ReceivedOffer> accepted;
        {
            std::lock_guard lock(mutex);
            if (stopped)
                return;
            for (const auto& v : values) {
                auto digest = wire::sha256(v.data);
                if (seen.contains(digest))
                    continue;
                seen.insert(digest);
                seenOrder.push_back(digest);
                if (seenOrder.size() > kSeenCapacity) {
                    seen.erase(seenOrder.front());
                    seenOrder.pop_front();
                }
                auto r = box.open(v.data, clock.nowMs());
                if (r) {
                    kLog.info("offer from {} accepted", r->submitter.shortStr());
                    accepted.push_back(std::move(*r));
                } else {
                    kLog.info("inbox value refused: {}", refusalName(r.error()));
                }
            }
        }
        for (auto& offer : accepted)
            onOffer(std::move(offer));
    }
};

Inbox::Inbox(Node& node, const wire::Identity& self, wire::TrustList trust,
             const wire::Clock& clock, OfferCallback onOffer)
    : state_(std::make_shared<State>(node, self, std::move(trust), clock, std::move(onOffer))) {
    std::weak_ptr<State> weak = state_;
    auto token = node.listen(inboxKeyText(wire::PeerId(self.publicKey()).str()),
                             [weak](std::vector<DhtValue> values) {
                                 if (auto s = weak.lock())
                                     s->handle(values);
                             });
    std::lock_guard lock(state_->mutex);
    state_->listenToken = token;
}

Inbox::~Inbox() {
    stopListening(*state_);
}

std::array<std::uint64_t, kOfferRefusalCount> Inbox::refused() const {
    std::lock_guard lock(state_->mutex);
    return state_->box.refusedCounts();
}

std::uint64_t Inbox::accepted() const {
    std::lock_guard lock(state_->mutex);
    return state_->box.accepted();
}

void postSealed(Node& node, const wire::PeerId& worker, wire::Bytes sealed,
                std::function<void(bool ok)> onDone) {
    node.put(inboxKeyText(worker.str()), DhtValue{Node::freshValueId(), std::move(sealed)},
             std::move(onDone));
}

void postOffer(Node& node, const wire::Identity& submitter, const wire::PeerId& worker,
               wire::Offer offer, const wire::Clock& clock, std::int64_t lifetimeMs,
               std::function<void(bool ok)> onDone) {
    auto sealed = sealOffer(submitter, worker.key(), node.swarm(), std::move(offer), clock.nowMs(),
                            lifetimeMs);
    postSealed(node, worker, std::move(sealed), std::move(onDone));
}

} // namespace swarm::dht

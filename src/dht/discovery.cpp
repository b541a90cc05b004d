#include "dht/discovery.hpp"

#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "dht/stop_listening.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace swarm::dht {

namespace {
const wire::Logger kLog("dht");
}

struct Discovery::State {
    Node& node;
    const wire::Clock& clock;
    DiscoveryOptions options;
    std::string key;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    WorkerTable table;
    std::uint64_t getsDone = 0;
    std::uint64_t listenToken = 0;
    std::chrono::milliseconds interval;
    bool stopped = false;

    State(Node& n, wire::TrustList trust, const wire::Clock& c, DiscoveryOptions o)
        : node(n), clock(c), options(o), key(workersKeyText(n.swarm())),
          table(n.swarm(), std::move(trust), o.maxSkewMs), interval(o.firstRegetInterval) {}

    // Runs on the node's loop thread.
    void ingest(const std::vector<DhtValue>& values) {
        bool any = false;
        {
            std::lock_guard lock(mutex);
            if (stopped)
                return;
            auto now = clock.nowMs();
            for (const auto& v : values) {
                auto r = table.ingest(v.data, now);
                switch (r.outcome) {
                case WorkerTable::Outcome::kAdded:
                case WorkerTable::Outcome::kUpdated:
                case WorkerTable::Outcome::kWithdrawn:
                    any = true;
                    break;
                case WorkerTable::Outcome::kSkipped:
                    any = true;
                    kLog.debug("skipped a value under the workers key: {}", reasonName(*r.reason));
                    break;
                case WorkerTable::Outcome::kDuplicate:
                    break;
                }
            }
        }
        if (any)
            changed.notify_all();
    }

    static void getLoop(const std::shared_ptr<State>& self) {
        std::weak_ptr<State> weak = self;
        self->node.get(
            self->key,
            [weak](std::vector<DhtValue> values) {
                if (auto s = weak.lock())
                    s->ingest(values);
            },
            [weak](bool) {
                auto s = weak.lock();
                if (!s)
                    return;
                std::chrono::milliseconds next;
                {
                    std::lock_guard lock(s->mutex);
                    if (s->stopped)
                        return;
                    ++s->getsDone;
                    next = s->interval;
                    bool searching =
                        s->table.live(s->clock.nowMs()).size() < s->table.trust().entries().size();
                    s->interval =
                        std::min(s->interval * 2, searching ? s->options.searchingRegetInterval
                                                            : s->options.maxRegetInterval);
                }
                s->changed.notify_all();
                s->node.loop().postAfter(next, [weak] {
                    if (auto s2 = weak.lock()) {
                        {
                            std::lock_guard lock(s2->mutex);
                            if (s2->stopped)
                                return;
                        }
                        getLoop(s2);
                    }
                });
            });
    }
};

Discovery::Discovery(Node& node, wire::TrustList trust, const wire::Clock& clock,
                     DiscoveryOptions options)
    : state_(std::make_shared<State>(node, std::move(trust), clock, options)) {}

Discovery::~Discovery() {
    stopListening(*state_);
}

void Discovery::start() {
    std::weak_ptr<State> weak = state_;
    auto token = state_->node.listen(state_->key, [weak](std::vector<DhtValue> values) {
        if (auto s = weak.lock())
            s->ingest(values);
    });
    {
        std::lock_guard lock(state_->mutex);
        state_->listenToken = token;
    }
    State::getLoop(state_);
}

DiscoverySnapshot Discovery::snapshot() const {
    std::lock_guard lock(state_->mutex);
    DiscoverySnapshot s;
    s.nowMs = state_->clock.nowMs();
    s.workers = state_->table.live(s.nowMs);
    s.skipped = state_->table.skipped();
    s.distinctValues = state_->table.distinctValues();
    s.getsDone = state_->getsDone;
    return s;
}

bool Discovery::waitUntil(const std::function<bool(const DiscoverySnapshot&)>& pred,
                          std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred(snapshot()))
            return true;
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        std::unique_lock lock(state_->mutex);
        state_->changed.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
    }
}

} // namespace swarm::dht

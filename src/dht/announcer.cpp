#include "dht/announcer.hpp"

#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "wire/clock.hpp"
#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <algorithm>
#include <future>
#include <mutex>

namespace swarm::dht {

namespace {
const wire::Logger kLog("dht");
}

std::expected<wire::Bytes, wire::Error>
encodeCapacity(const wire::Identity& id, std::string_view swarm, wire::CapacityRecord record,
               std::int64_t issuedAtMs, std::int64_t lifetimeMs) {
    record.peerId = wire::PeerId(id.publicKey()).str();
    auto bytes = signForSwarm(id, swarm, wire::EnvelopeType::kCapacity, wire::pack(record),
                              issuedAtMs, lifetimeMs);
    auto size = Node::packedValueSize(bytes);
    if (size > kMaxRecordValueBytes)
        return std::unexpected(wire::Error(
            wire::Error::Code::kTooLarge,
            "capacity record is " + std::to_string(size) + " bytes as a DHT value (limit " +
                std::to_string(kMaxRecordValueBytes) + "): shorten the labels"));
    return bytes;
}

struct Announcer::State {
    Node& node;
    const wire::Identity& id;
    const wire::Clock& clock;
    AnnouncerOptions options;
    std::string key;

    std::mutex mutex;
    wire::CapacityRecord record;
    std::uint64_t sequence = 0;
    std::uint64_t valueId = 0;   // current put; 0 = none
    std::uint64_t pendingId = 0; // id drawn for the next put, if any
    static constexpr std::chrono::milliseconds kFirstRetry{1000};
    std::chrono::milliseconds retryDelay = kFirstRetry;
    std::uint64_t generation = 0;
    std::size_t lastSize = 0;
    bool announced = false;
    bool withdrawn = false;

    State(Node& n, const wire::Identity& i, const wire::Clock& c, AnnouncerOptions o)
        : node(n), id(i), clock(c), options(o), key(workersKeyText(n.swarm())) {}

    // Caller holds mutex. Signs the current record with the next sequence
    // and puts it under a fresh value id, cancelling the previous put.
    std::expected<void, wire::Error> putLocked(Node::DoneCallback onDone) {
        auto now = clock.nowMs();
        auto next = std::max<std::uint64_t>(sequence + 1, static_cast<std::uint64_t>(now));
        auto rec = record;
        rec.sequence = next;
        auto bytes =
            encodeCapacity(id, node.swarm(), std::move(rec), now, options.lifetime.count());
        if (!bytes)
            return std::unexpected(bytes.error());
        sequence = next;
        lastSize = Node::packedValueSize(*bytes);
        auto old = valueId;
        valueId = pendingId != 0 ? pendingId : Node::freshValueId();
        pendingId = 0;
        node.put(key, DhtValue{valueId, std::move(*bytes)}, std::move(onDone));
        if (old != 0)
            node.cancelPut(key, old);
        return {};
    }

    // Caller holds mutex. putLocked() for a live announcement: if no node
    // acknowledges the put (common right after joining, while storing
    // nodes still judge themselves too far from the key), put again with
    // backoff instead of waiting for the next refresh.
    std::expected<void, wire::Error> putLive(const std::shared_ptr<State>& self) {
        std::weak_ptr<State> weak = self;
        auto r = putLocked([weak, id = valueIdAfterNextPut()](bool ok) {
            if (auto s = weak.lock())
                s->onPutDone(s, id, ok);
        });
        return r;
    }

    // The id putLocked() is about to use (it draws it here first).
    std::uint64_t valueIdAfterNextPut() {
        pendingId = Node::freshValueId();
        return pendingId;
    }

    void onPutDone(const std::shared_ptr<State>& self, std::uint64_t putId, bool ok) {
        std::lock_guard lock(mutex);
        if (withdrawn || putId != valueId)
            return;
        if (ok) {
            retryDelay = kFirstRetry;
            return;
        }
        kLog.warn("capacity record not stored by any node; putting it again in {} ms",
                  retryDelay.count());
        std::weak_ptr<State> weak = self;
        node.loop().postAfter(retryDelay, [weak, putId] {
            auto s = weak.lock();
            if (!s)
                return;
            std::lock_guard lock2(s->mutex);
            if (s->withdrawn || putId != s->valueId)
                return;
            if (auto r = s->putLive(s); !r)
                kLog.error("capacity put failed: {}", r.error().what);
        });
        retryDelay = std::min(retryDelay * 2, options.refresh);
    }

    static void scheduleRefresh(const std::shared_ptr<State>& self, std::uint64_t gen,
                                std::size_t step = 0) {
        std::weak_ptr<State> weak = self;
        auto delay = step < self->options.earlyRefresh.size() ? self->options.earlyRefresh[step]
                                                              : self->options.refresh;
        self->node.loop().postAfter(delay, [weak, gen, step] {
            auto s = weak.lock();
            if (!s)
                return;
            std::lock_guard lock(s->mutex);
            if (s->withdrawn || gen != s->generation)
                return;
            if (auto r = s->putLive(s); !r)
                kLog.error("capacity refresh failed: {}", r.error().what);
            scheduleRefresh(s, gen, step + 1);
        });
    }
};

Announcer::Announcer(Node& node, const wire::Identity& id, const wire::Clock& clock,
                     AnnouncerOptions options)
    : state_(std::make_shared<State>(node, id, clock, options)) {}

void Announcer::prepare(Node& node, std::function<void(bool ok)> onDone) {
    node.prepareSearch(workersKeyText(node.swarm()), std::move(onDone));
}

Announcer::~Announcer() {
    withdraw();
}

std::expected<void, wire::Error> Announcer::announce(wire::CapacityRecord record) {
    std::lock_guard lock(state_->mutex);
    if (state_->withdrawn)
        return std::unexpected(
            wire::Error(wire::Error::Code::kInvalidArgument, "announcer already withdrawn"));
    record.withdrawn = false;
    auto previous = std::move(state_->record);
    state_->record = std::move(record);
    if (auto r = state_->putLive(state_); !r) {
        state_->record = std::move(previous);
        return r;
    }
    state_->announced = true;
    State::scheduleRefresh(state_, ++state_->generation);
    kLog.info("announcing {} in swarm '{}' (sequence {}, {} bytes)",
              wire::PeerId(state_->id.publicKey()).shortStr(), state_->node.swarm(),
              state_->sequence, state_->lastSize);
    return {};
}

bool Announcer::withdraw() {
    auto done = std::make_shared<std::promise<bool>>();
    auto future = done->get_future();
    {
        std::lock_guard lock(state_->mutex);
        if (state_->withdrawn || !state_->announced) {
            state_->withdrawn = true;
            return true;
        }
        state_->withdrawn = true;
        state_->record.withdrawn = true;
        auto r = state_->putLocked([done](bool ok) {
            try {
                done->set_value(ok);
            } catch (...) {
            }
        });
        if (!r) {
            kLog.error("withdraw failed: {}", r.error().what);
            return false;
        }
    }
    if (state_->node.loop().inLoop())
        return false;
    if (future.wait_for(state_->options.withdrawWait) != std::future_status::ready) {
        kLog.warn("withdraw not confirmed within {} ms", state_->options.withdrawWait.count());
        return false;
    }
    try {
        return future.get();
    } catch (const std::future_error&) {
        return false; // the loop stopped before the confirmation ran
    }
}

std::uint64_t Announcer::sequence() const {
    std::lock_guard lock(state_->mutex);
    return state_->sequence;
}

std::size_t Announcer::lastValueSize() const {
    std::lock_guard lock(state_->mutex);
    return state_->lastSize;
}

} // namespace swarm::dht

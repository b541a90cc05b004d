#include "worker/slot_pool.hpp"

#include <algorithm>

namespace swarm::worker {

SlotPool::Holder SlotPool::join(std::uint32_t weight) {
    std::lock_guard lock(mutex_);
    Holder h = next_++;
    sessions_.emplace(h, Session{.weight = std::max(weight, 1u)});
    return h;
}

std::uint32_t SlotPool::shareLocked(const Session& s) const {
    std::uint64_t total = s.wanting ? 0 : s.weight;
    for (const auto& [h, other] : sessions_)
        if (other.wanting)
            total += other.weight;
    const std::uint64_t scaled = std::uint64_t{slots_} * s.weight;
    return static_cast<std::uint32_t>((scaled + total - 1) / total);
}

std::uint32_t SlotPool::reserve(Holder h, std::uint32_t want, bool borrow) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    if (closed_ || it == sessions_.end())
        return 0;
    auto& s = it->second;
    s.wanting = true;
    const std::uint32_t share = shareLocked(s);
    // Another session that wants work, is below its share and holds less
    // for its weight than `s` does comes first: else a heavy session that
    // frees a slot and asks again at once would keep every slot, its share
    // rounded up reaching them all.
    auto behind = [&] {
        return std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& entry) {
            const Session& o = entry.second;
            return entry.first != h && o.wanting && o.held < shareLocked(o) &&
                   std::uint64_t{o.held} * s.weight < std::uint64_t{s.held} * o.weight;
        });
    };
    std::uint32_t n = 0;
    while (n < want && free_ > 0 && (borrow || (s.held < share && !behind()))) {
        --free_;
        ++s.held;
        ++n;
    }
    return n;
}

void SlotPool::releaseLocked(Session& s, std::uint32_t n) {
    n = std::min(n, s.held);
    s.held -= n;
    free_ += n;
}

void SlotPool::release(Holder h, std::uint32_t n) {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(h); it != sessions_.end())
        releaseLocked(it->second, n);
}

void SlotPool::decline(Holder h, std::uint32_t n) {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(h); it != sessions_.end()) {
        releaseLocked(it->second, n);
        it->second.wanting = false;
    }
}

void SlotPool::leave(Holder h) {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(h); it != sessions_.end()) {
        free_ += it->second.held;
        sessions_.erase(it);
    }
}

void SlotPool::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

std::uint32_t SlotPool::free() const {
    std::lock_guard lock(mutex_);
    return free_;
}

std::uint32_t SlotPool::held(Holder h) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    return it == sessions_.end() ? 0 : it->second.held;
}

bool SlotPool::owed(Holder h) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    return it != sessions_.end() && it->second.wanting && it->second.held < shareLocked(it->second);
}

bool SlotPool::wants(Holder h) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    return it != sessions_.end() && it->second.wanting;
}

std::uint32_t SlotPool::share(Holder h) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    return it == sessions_.end() ? 0 : shareLocked(it->second);
}

} // namespace swarm::worker

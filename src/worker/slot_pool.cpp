#include "worker/slot_pool.hpp"

#include <algorithm>

namespace swarm::worker {

SlotPool::Holder SlotPool::join() {
    std::lock_guard lock(mutex_);
    Holder h = next_++;
    sessions_.emplace(h, Session{});
    return h;
}

std::uint32_t SlotPool::shareLocked() const {
    auto wanting = static_cast<std::uint32_t>(std::count_if(
        sessions_.begin(), sessions_.end(), [](const auto& s) { return s.second.wanting; }));
    if (wanting == 0)
        return slots_;
    return (slots_ + wanting - 1) / wanting;
}

std::uint32_t SlotPool::reserve(Holder h, std::uint32_t want, bool borrow) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h);
    if (closed_ || it == sessions_.end())
        return 0;
    auto& s = it->second;
    s.wanting = true;
    const std::uint32_t share = shareLocked();
    const std::uint32_t room = borrow ? free_ : share > s.held ? share - s.held : 0;
    const std::uint32_t n = std::min({want, free_, room});
    free_ -= n;
    s.held += n;
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

std::uint32_t SlotPool::share() const {
    std::lock_guard lock(mutex_);
    return shareLocked();
}

} // namespace swarm::worker

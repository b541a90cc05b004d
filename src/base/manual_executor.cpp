#include "base/manual_executor.hpp"

namespace swarm::base {

void ManualExecutor::post(std::function<void()> task) {
    postAfter(std::chrono::milliseconds(0), std::move(task));
}

void ManualExecutor::postAfter(std::chrono::milliseconds delay, std::function<void()> task) {
    std::lock_guard lock(mutex_);
    tasks_.emplace(std::make_pair(now_ + delay, nextSeq_++), std::move(task));
}

Executor::Clock::time_point ManualExecutor::now() const {
    std::lock_guard lock(mutex_);
    return now_;
}

bool ManualExecutor::runOne(Clock::time_point until) {
    std::function<void()> task;
    {
        std::lock_guard lock(mutex_);
        auto first = tasks_.begin();
        if (first == tasks_.end() || first->first.first > until)
            return false;
        if (first->first.first > now_)
            now_ = first->first.first;
        task = std::move(first->second);
        tasks_.erase(first);
    }
    task();
    return true;
}

std::size_t ManualExecutor::runReady() {
    std::size_t n = 0;
    while (runOne(now()))
        ++n;
    return n;
}

std::size_t ManualExecutor::advance(std::chrono::milliseconds by) {
    const auto until = now() + by;
    std::size_t n = 0;
    while (runOne(until))
        ++n;
    std::lock_guard lock(mutex_);
    now_ = until;
    return n;
}

std::size_t ManualExecutor::pending() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
}

} // namespace swarm::base

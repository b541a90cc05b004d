#include "worker/unit_threads.hpp"

namespace swarm::worker {

UnitThreads::~UnitThreads() {
    joinAll();
}

void UnitThreads::start(std::function<void()> body) {
    std::vector<std::thread> done;
    {
        std::lock_guard lock(mutex_);
        for (auto id : finished_) {
            if (auto it = threads_.find(id); it != threads_.end()) {
                done.push_back(std::move(it->second));
                threads_.erase(it);
            }
        }
        finished_.clear();
    }
    // Each of these has at most its return left to do. Joined before the
    // new thread is made, so that a failure to make it leaves nothing
    // joinable behind.
    for (auto& t : done)
        t.join();

    std::lock_guard lock(mutex_);
    const auto id = next_++;
    auto [it, inserted] = threads_.try_emplace(id);
    try {
        // Made under the lock the thread needs to report its end, so it is
        // always in threads_ by the time its id is in finished_.
        it->second = std::thread([this, id, body = std::move(body)] {
            body();
            std::lock_guard end(mutex_);
            finished_.push_back(id);
        });
    } catch (...) {
        threads_.erase(it);
        throw;
    }
}

void UnitThreads::joinAll() {
    std::map<std::uint64_t, std::thread> all;
    {
        std::lock_guard lock(mutex_);
        all.swap(threads_);
        finished_.clear();
    }
    for (auto& [id, t] : all)
        t.join();
}

std::size_t UnitThreads::held() const {
    std::lock_guard lock(mutex_);
    return threads_.size();
}

} // namespace swarm::worker

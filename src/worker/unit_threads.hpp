#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace swarm::worker {

/// The threads that run one session's units. A thread that has finished is
/// joined when the next one starts, so a session that runs thousands of
/// units holds the threads still running and at most a few finished ones,
/// not one finished thread (its stack and all) per unit until the session
/// ends. Thread-safe.
class UnitThreads {
public:
    UnitThreads() = default;
    UnitThreads(const UnitThreads&) = delete;
    UnitThreads& operator=(const UnitThreads&) = delete;
    ~UnitThreads();

    /// Joins the threads that have finished, then runs `body` on a new one.
    void start(std::function<void()> body);

    /// Waits for every thread started so far.
    void joinAll();

    /// Threads not joined yet (running, or finished since the last start).
    std::size_t held() const;

private:
    mutable std::mutex mutex_;
    std::uint64_t next_ = 0;
    std::map<std::uint64_t, std::thread> threads_;
    std::vector<std::uint64_t> finished_;
};

} // namespace swarm::worker

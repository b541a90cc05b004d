#pragma once

#include "base/executor.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace swarm::base {

/// An executor for unit tests: tasks run only inside runReady() or
/// advance(), on the calling thread, and time moves only when advance() is
/// called. post() is thread-safe; the rest is for the test's thread.
class ManualExecutor final : public Executor {
public:
    void post(std::function<void()> task) override;
    void postAfter(std::chrono::milliseconds delay, std::function<void()> task) override;
    Clock::time_point now() const override;

    /// Runs every task that is due, including those they post, until none
    /// is. Returns how many ran.
    std::size_t runReady();
    /// Moves time forward by `by`, running what falls due on the way in
    /// order of due time. Returns how many ran.
    std::size_t advance(std::chrono::milliseconds by);
    /// Tasks waiting, due or not.
    std::size_t pending() const;

private:
    bool runOne(Clock::time_point until);

    mutable std::mutex mutex_;
    Clock::time_point now_{std::chrono::hours(1)};
    std::map<std::pair<Clock::time_point, std::uint64_t>, std::function<void()>> tasks_;
    std::uint64_t nextSeq_ = 0;
};

} // namespace swarm::base

#pragma once

#include <chrono>
#include <functional>

namespace swarm::base {

/// Where a room's single-threaded logic runs: tasks posted from any thread
/// run one at a time, in order, on one thread (an EventLoop), or when a test
/// says so (a ManualExecutor). Time is the executor's own, so that a test
/// can move it by hand.
class Executor {
public:
    using Clock = std::chrono::steady_clock;

    virtual ~Executor() = default;
    /// Runs `task` as soon as possible, after the tasks posted before it.
    /// Thread-safe. Dropped without running once the executor has stopped.
    virtual void post(std::function<void()> task) = 0;
    /// Runs `task` once `delay` has passed on now(). Thread-safe.
    virtual void postAfter(std::chrono::milliseconds delay, std::function<void()> task) = 0;
    /// The executor's time. Thread-safe.
    virtual Clock::time_point now() const = 0;
};

} // namespace swarm::base

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "base/executor.hpp"

namespace swarm::base {

/// One thread that runs posted tasks and timers in order, on the real
/// steady clock. The DHT room re-posts OpenDHT's callbacks to one, so its
/// logic never runs on OpenDHT's thread; the worker's sessions live on one.
///
/// Thread-safe: post()/postAfter() may be called from any thread. A task
/// that throws is reported to `onError` and dropped; the loop keeps running.
/// Tasks still queued when stop() runs are dropped without running.
class EventLoop final : public Executor {
public:
    using ErrorSink = std::function<void(std::string_view what)>;

    /// `onError` gets what a failed task threw (default: standard error).
    explicit EventLoop(ErrorSink onError = {});
    /// Stops and joins the thread.
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Runs `task` on the loop thread as soon as possible.
    void post(std::function<void()> task) override;
    /// Runs `task` on the loop thread once `delay` has passed.
    void postAfter(std::chrono::milliseconds delay, std::function<void()> task) override;
    Clock::time_point now() const override { return Clock::now(); }
    /// Runs `task` on the loop thread and waits until it ran, or was
    /// dropped because the loop stopped (then returns false). No timeout: a
    /// task that ran late would touch what the caller no longer holds. Must
    /// not be called from the loop thread itself.
    bool runSync(std::function<void()> task);
    /// True when called from the loop thread.
    bool inLoop() const noexcept { return std::this_thread::get_id() == thread_.get_id(); }
    /// Drops pending work and joins the thread. Idempotent. Must not be
    /// called from the loop thread.
    void stop();

private:
    void run();

    ErrorSink onError_;
    std::mutex mutex_;
    std::condition_variable cv_;
    // Keyed by (due time, sequence) so equal times keep posting order.
    std::map<std::pair<Clock::time_point, std::uint64_t>, std::function<void()>> tasks_;
    std::uint64_t nextSeq_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace swarm::base

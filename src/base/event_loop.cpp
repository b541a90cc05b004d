#include "base/event_loop.hpp"

#include <fmt/format.h>

#include <cassert>
#include <exception>
#include <future>
#include <memory>

namespace swarm::base {

EventLoop::EventLoop(ErrorSink onError) : onError_(std::move(onError)), thread_([this] { run(); }) {
    if (!onError_)
        onError_ = [](std::string_view what) { fmt::print(stderr, "{}\n", what); };
}

EventLoop::~EventLoop() {
    stop();
}

void EventLoop::post(std::function<void()> task) {
    postAfter(std::chrono::milliseconds(0), std::move(task));
}

void EventLoop::postAfter(std::chrono::milliseconds delay, std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        tasks_.emplace(std::make_pair(Clock::now() + delay, nextSeq_++), std::move(task));
    }
    cv_.notify_one();
}

bool EventLoop::runSync(std::function<void()> task) {
    assert(!inLoop());
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    // Only the task holds the promise: dropped unrun, it breaks it.
    post([task = std::move(task), done = std::move(done)] {
        task();
        done->set_value();
    });
    try {
        future.get(); // a dropped task leaves a broken promise
        return true;
    } catch (const std::future_error&) {
        return false;
    }
}

void EventLoop::stop() {
    assert(!inLoop());
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
        thread_.join();
    std::lock_guard lock(mutex_);
    tasks_.clear();
}

void EventLoop::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (tasks_.empty()) {
            cv_.wait(lock);
            continue;
        }
        auto first = tasks_.begin();
        if (first->first.first > Clock::now()) {
            cv_.wait_until(lock, first->first.first);
            continue;
        }
        auto task = std::move(first->second);
        tasks_.erase(first);
        lock.unlock();
        try {
            task();
        } catch (const std::exception& e) {
            onError_(fmt::format("event loop task failed: {}", e.what()));
        } catch (...) {
            onError_("event loop task failed with an unknown exception");
        }
        task = nullptr; // its captures go before the lock is taken again
        lock.lock();
    }
}

} // namespace swarm::base

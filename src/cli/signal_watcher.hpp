#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace swarm::cli {

/// Takes SIGINT and SIGTERM on a thread of its own: blocks them in the
/// calling thread (so every thread started afterwards inherits the mask)
/// and calls `onSignal` with the signal number, on the watcher thread, for
/// each one that arrives (a second Ctrl-C may mean more than the first).
/// Create it before any other thread exists.
class SignalWatcher {
public:
    explicit SignalWatcher(std::function<void(int)> onSignal);
    /// Stops watching and joins the thread; `onSignal` is not called after.
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

} // namespace swarm::cli

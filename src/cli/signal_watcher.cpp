#include "cli/signal_watcher.hpp"

#include <pthread.h>

#include <csignal>

namespace swarm::cli {

namespace {
sigset_t watchedSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}
} // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> onSignal) {
    sigset_t set = watchedSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, set, fn = std::move(onSignal)] {
        for (;;) {
            int sig = 0;
            sigwait(&set, &sig);
            if (done_)
                return;
            fn(sig);
        }
    });
}

SignalWatcher::~SignalWatcher() {
    done_ = true;
    // Wakes sigwait(); the signal is blocked everywhere, so it goes nowhere else.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
}

} // namespace swarm::cli

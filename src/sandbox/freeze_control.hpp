#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <set>
#include <vector>

namespace swarm::sandbox {

/// The worker's word to its running units: frozen or not (one switch for
/// all of them, set when the volunteer suspends the worker), and the init
/// pids of the units' containers while they run (what the worker's CPU
/// sampler counts as its own). Thread-safe; shared by the worker (which owns
/// it) and every unit run (UnitSpec::freeze borrows it).
class FreezeControl {
public:
    /// Asks every running unit to freeze (true) or to go on (false). A run
    /// follows within a quarter second; a unit started while frozen is
    /// frozen right after its start.
    void setFrozen(bool frozen) noexcept { frozen_.store(frozen); }
    bool frozen() const noexcept { return frozen_.load(); }

    /// A unit's container started with this init pid (its pid namespace's
    /// first process, as the host sees it).
    void started(pid_t init) {
        std::lock_guard lock(mutex_);
        inits_.insert(init);
    }
    /// That container has ended (or is about to be removed).
    void ended(pid_t init) {
        std::lock_guard lock(mutex_);
        inits_.erase(init);
    }
    /// The init pids of the containers running now.
    std::vector<pid_t> inits() const {
        std::lock_guard lock(mutex_);
        return {inits_.begin(), inits_.end()};
    }

private:
    std::atomic<bool> frozen_{false};
    mutable std::mutex mutex_;
    std::set<pid_t> inits_;
};

} // namespace swarm::sandbox

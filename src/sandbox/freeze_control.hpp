#pragma once

#include "sandbox/pid_namespace.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace swarm::sandbox {

/// The worker's word to its running units: frozen or not (one switch for
/// all of them, set when the volunteer suspends the worker), and the
/// processes of the units while they run (what the worker's CPU sampler
/// counts as its own). Thread-safe; shared by the worker (which owns
/// it) and every unit run (UnitSpec::freeze borrows it).
class FreezeControl {
public:
    /// Asks every running unit to freeze (true) or to go on (false). A run
    /// follows within a quarter second; a unit started while frozen is
    /// frozen right after its start.
    void setFrozen(bool frozen) noexcept { frozen_.store(frozen); }
    bool frozen() const noexcept { return frozen_.load(); }

    /// A unit's container started; these are its processes.
    void started(std::shared_ptr<const UnitProcesses> unit) {
        std::lock_guard lock(mutex_);
        units_.push_back(std::move(unit));
    }
    /// That container has ended (or is about to be removed).
    void ended(const UnitProcesses* unit) {
        std::lock_guard lock(mutex_);
        std::erase_if(units_, [&](const auto& u) { return u.get() == unit; });
    }
    /// The units running now.
    std::vector<std::shared_ptr<const UnitProcesses>> units() const {
        std::lock_guard lock(mutex_);
        return units_;
    }

private:
    std::atomic<bool> frozen_{false};
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<const UnitProcesses>> units_;
};

} // namespace swarm::sandbox

#pragma once

#include <chrono>

namespace swarm::sandbox {

/// A unit's wall-clock timeout that does not run while the unit is frozen:
/// the time spent frozen is added to its deadline. Plain value; time comes
/// from the caller (steady_clock in the runtime, made-up points in tests).
class UnitDeadline {
public:
    using Clock = std::chrono::steady_clock;
    using ms = std::chrono::milliseconds;

    UnitDeadline(Clock::time_point start, ms timeout) : start_(start), timeout_(timeout) {}

    /// The unit was frozen at `now` (no-op if it already is).
    void freeze(Clock::time_point now);
    /// The unit runs again from `now` (no-op if it is not frozen).
    void thaw(Clock::time_point now);
    bool frozen() const noexcept { return frozen_; }

    /// Time left before the timeout at `now`; while frozen, what was left
    /// when it froze (it does not shrink).
    ms left(Clock::time_point now) const;
    /// True once the unit has run (not frozen) for its whole timeout.
    bool expired(Clock::time_point now) const { return left(now) <= ms(0); }
    /// Total time frozen up to `now`.
    ms frozenFor(Clock::time_point now) const;

private:
    Clock::time_point start_;
    ms timeout_;
    ms frozenBefore_{0}; // frozen spells that ended
    bool frozen_ = false;
    Clock::time_point frozenSince_{};
};

} // namespace swarm::sandbox

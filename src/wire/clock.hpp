#pragma once

#include <cstdint>

namespace swarm::wire {

/// Wall-clock time in Unix milliseconds: the unit of every timestamp on the
/// wire. An interface so that unit tests can move time by hand.
class Clock {
public:
    virtual ~Clock() = default;
    /// Current Unix time in milliseconds. Thread-safe.
    virtual std::int64_t nowMs() const = 0;
};

/// The real clock (std::chrono::system_clock).
class SystemClock final : public Clock {
public:
    std::int64_t nowMs() const override;
};

/// A clock that moves only when told to. For tests; not thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t startMs = 1'700'000'000'000) : now_(startMs) {}
    std::int64_t nowMs() const override { return now_; }
    void advance(std::int64_t ms) { now_ += ms; }
    void set(std::int64_t ms) { now_ = ms; }

private:
    std::int64_t now_;
};

} // namespace swarm::wire

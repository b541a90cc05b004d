#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swarm::worker {

/// Other processes above `[idle] max_other_cpu` for this long suspend the
/// worker ...
inline constexpr std::int64_t kBusyAfterMs = 5'000;
/// ... and below it for this long resume it (BOINC's rule: a short spike
/// does not freeze units, a short lull does not wake them).
inline constexpr std::int64_t kIdleAfterMs = 10'000;

/// Why the worker is suspended, if it is: the volunteer said so (`swarm-worker
/// suspend`, for a while or until `resume`), other processes keep the
/// machine busy (`[idle] max_other_cpu`), or someone uses the machine
/// (`[idle] when_user_active`, from logind). Any reason suspends. Plain
/// logic: time (milliseconds since the epoch) comes from the caller; used
/// by one thread at a time (the worker guards it).
class Suspension {
public:
    /// `maxOtherCpu`: percent of the whole machine (1 to 100), 0 = not
    /// watched.
    explicit Suspension(std::uint32_t maxOtherCpu = 0) : maxOtherCpu_(maxOtherCpu) {}

    /// The volunteer suspends at `nowMs`, for `forMs` or until resume().
    void suspendByUser(std::int64_t nowMs, std::optional<std::int64_t> forMs);
    /// The volunteer resumes: the user reason ends (busy or active stay).
    void resumeByUser() { user_ = false; }

    /// A measurement at `nowMs`: other processes used `percent` of the
    /// machine since the previous one. Ignored when not watched.
    void otherCpu(double percent, std::int64_t nowMs);
    /// Whether logind reports someone active at the machine.
    void userActive(bool active) { userActive_ = active; }

    /// Ends a user suspension whose time is up at `nowMs`.
    void tick(std::int64_t nowMs);

    bool suspended() const noexcept { return user_ || busy_ || userActive_; }
    bool byUser() const noexcept { return user_; }
    bool busy() const noexcept { return busy_; }
    /// When the user suspension ends by itself; nullopt: until resume().
    std::optional<std::int64_t> userUntilMs() const { return userUntilMs_; }
    /// The last CPU share of other processes measured.
    double otherPercent() const noexcept { return lastPercent_; }
    std::uint32_t maxOtherCpu() const noexcept { return maxOtherCpu_; }

    /// "" when running; else every reason: "user until 16:42" (clock time
    /// from `clockText`), "user", "busy (other processes at 83% > 50%)",
    /// "user active (logind)", joined by "; ".
    std::string describe(std::string (*clockText)(std::int64_t ms)) const;

private:
    std::uint32_t maxOtherCpu_;
    bool user_ = false;
    std::optional<std::int64_t> userUntilMs_;
    bool busy_ = false;
    bool userActive_ = false;
    double lastPercent_ = 0;
    // Since when the measurements are on the other side of the threshold
    // from busy_ (nullopt: the last one was on the same side).
    std::optional<std::int64_t> crossedAtMs_;
};

/// "HH:MM" of `ms` since the epoch in local time (Suspension::describe()).
std::string localClockText(std::int64_t ms);

} // namespace swarm::worker

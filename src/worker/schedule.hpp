#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::worker {

/// When a volunteer lets the worker compute (`[schedule]` in worker.toml):
/// windows per day of the week, in local time. A window belongs to the day
/// it starts on; one whose end is before its start ("18:00-08:00") runs
/// past midnight into the next day. Plain data and pure logic: the clock is
/// the caller's. Daylight-saving changes are not accounted for (a window
/// is reckoned in the local offset of the moment asked about).
class Schedule {
public:
    static constexpr std::int64_t kDay = 24 * 3600;
    static constexpr std::int64_t kWeek = 7 * kDay;

    /// One window, in seconds from the midnight that starts its day;
    /// `end` > `start`, at most kDay past it.
    struct Window {
        std::int64_t start = 0;
        std::int64_t end = 0;
        bool operator==(const Window&) const = default;
    };

    /// A day's windows from its text: "all", "none", or a comma-separated
    /// list of "HH:MM-HH:MM" (seconds optional: "18:00:30"; "24:00" ends a
    /// day). The error names the part that does not parse.
    static std::expected<std::vector<Window>, std::string> parseDay(std::string_view text);

    /// The day names of worker.toml, Sunday first (as struct tm counts).
    static constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed",
                                                               "thu", "fri", "sat"};

    /// Always open (no `[schedule]`).
    Schedule() = default;
    /// Sets day `weekday` (0 = Sunday) to `windows`; a schedule with any
    /// day set is closed outside the windows set.
    void setDay(int weekday, std::vector<Window> windows);
    /// True while no day is set: the worker may compute at any time.
    bool always() const noexcept { return !limited_; }

    /// Open at `weekSecond` (seconds since Sunday 00:00, below kWeek).
    bool openAt(std::int64_t weekSecond) const;
    /// Seconds from `weekSecond` to the next change of openAt(); nullopt
    /// if it never changes.
    std::optional<std::int64_t> secondsToChange(std::int64_t weekSecond) const;

    /// The same in local time.
    bool open(std::chrono::system_clock::time_point t) const;
    std::optional<std::chrono::system_clock::time_point>
    nextChange(std::chrono::system_clock::time_point t) const;
    /// For `status`: "always open", "open until Mon 2026-12-07 08:00:00",
    /// "closed until ...", "never open".
    std::string describe(std::chrono::system_clock::time_point t) const;

private:
    std::array<std::vector<Window>, 7> days_;
    bool limited_ = false;
};

/// Seconds since Sunday 00:00 local time at `t`.
std::int64_t localWeekSecond(std::chrono::system_clock::time_point t);

} // namespace swarm::worker

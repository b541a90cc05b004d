#include "worker/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace swarm::worker {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

std::optional<int> twoDigits(std::string_view s) {
    int v = 0;
    if (s.size() != 2)
        return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + 2, v);
    if (ec != std::errc() || end != s.data() + 2)
        return std::nullopt;
    return v;
}

// "HH:MM" or "HH:MM:SS" as seconds since midnight; "24:00" is the day's end.
std::optional<std::int64_t> parseTime(std::string_view s) {
    if (s.size() != 5 && s.size() != 8)
        return std::nullopt;
    auto h = twoDigits(s.substr(0, 2));
    auto m = twoDigits(s.substr(3, 2));
    auto sec = s.size() == 8 ? twoDigits(s.substr(6, 2)) : std::optional<int>(0);
    if (s[2] != ':' || (s.size() == 8 && s[5] != ':') || !h || !m || !sec)
        return std::nullopt;
    if (*m > 59 || *sec > 59 || *h > 24 || (*h == 24 && (*m != 0 || *sec != 0)))
        return std::nullopt;
    return *h * 3600 + *m * 60 + *sec;
}

std::int64_t mod(std::int64_t a, std::int64_t m) {
    return ((a % m) + m) % m;
}

} // namespace

std::expected<std::vector<Schedule::Window>, std::string>
Schedule::parseDay(std::string_view text) {
    text = trim(text);
    if (text == "all")
        return std::vector<Window>{{0, kDay}};
    if (text == "none")
        return std::vector<Window>{};
    std::vector<Window> out;
    while (true) {
        auto comma = text.find(',');
        auto part = trim(text.substr(0, comma));
        auto dash = part.find('-');
        if (dash == std::string_view::npos)
            return std::unexpected(fmt::format(
                "'{}' is not a window: use \"all\", \"none\" or \"HH:MM-HH:MM\" (seconds "
                "optional), separated by commas",
                part));
        auto from = trim(part.substr(0, dash));
        auto to = trim(part.substr(dash + 1));
        auto start = parseTime(from);
        auto end = parseTime(to);
        if (!start || *start == kDay)
            return std::unexpected(fmt::format("'{}' is not a time (HH:MM or HH:MM:SS)", from));
        if (!end)
            return std::unexpected(fmt::format("'{}' is not a time (HH:MM or HH:MM:SS)", to));
        if (*end == *start)
            return std::unexpected(
                fmt::format("'{}' is an empty window (for a whole day write \"all\")", part));
        // Ending before it starts: it runs past midnight into the next day.
        out.push_back({*start, *end < *start ? *end + kDay : *end});
        if (comma == std::string_view::npos)
            break;
        text = text.substr(comma + 1);
    }
    return out;
}

void Schedule::setDay(int weekday, std::vector<Window> windows) {
    days_.at(static_cast<std::size_t>(weekday)) = std::move(windows);
    limited_ = true;
}

bool Schedule::openAt(std::int64_t weekSecond) const {
    if (!limited_)
        return true;
    for (int d = 0; d < 7; ++d)
        for (const auto& w : days_[d]) {
            const std::int64_t start = d * kDay + w.start;
            if (mod(weekSecond - start, kWeek) < w.end - w.start)
                return true;
        }
    return false;
}

// openAt() only changes at a window's start or end: the nearest of those
// ahead where it differs from now.
std::optional<std::int64_t> Schedule::secondsToChange(std::int64_t weekSecond) const {
    if (!limited_)
        return std::nullopt;
    std::vector<std::int64_t> ahead;
    for (int d = 0; d < 7; ++d)
        for (const auto& w : days_[d])
            for (auto at : {d * kDay + w.start, d * kDay + w.end}) {
                auto delta = mod(at - weekSecond, kWeek);
                ahead.push_back(delta == 0 ? kWeek : delta);
            }
    std::sort(ahead.begin(), ahead.end());
    const bool now = openAt(weekSecond);
    for (auto delta : ahead)
        if (openAt(mod(weekSecond + delta, kWeek)) != now)
            return delta;
    return std::nullopt;
}

std::int64_t localWeekSecond(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    return tm.tm_wday * Schedule::kDay + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

bool Schedule::open(std::chrono::system_clock::time_point t) const {
    return openAt(localWeekSecond(t));
}

std::optional<std::chrono::system_clock::time_point>
Schedule::nextChange(std::chrono::system_clock::time_point t) const {
    auto delta = secondsToChange(localWeekSecond(t));
    if (!delta)
        return std::nullopt;
    const auto whole = std::chrono::floor<std::chrono::seconds>(t);
    return whole + std::chrono::seconds(*delta);
}

std::string Schedule::describe(std::chrono::system_clock::time_point t) const {
    if (!limited_)
        return "always open";
    const bool now = open(t);
    auto next = nextChange(t);
    if (!next)
        return now ? "always open" : "never open";
    const std::time_t tt = std::chrono::system_clock::to_time_t(*next);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char when[64];
    std::strftime(when, sizeof when, "%a %Y-%m-%d %H:%M:%S", &tm);
    return fmt::format("{} until {}", now ? "open" : "closed", when);
}

} // namespace swarm::worker

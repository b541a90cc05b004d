#include "worker/suspension.hpp"

#include <fmt/format.h>

#include <ctime>

namespace swarm::worker {

void Suspension::suspendByUser(std::int64_t nowMs, std::optional<std::int64_t> forMs) {
    user_ = true;
    userUntilMs_ = forMs ? std::optional(nowMs + *forMs) : std::nullopt;
}

void Suspension::otherCpu(double percent, std::int64_t nowMs) {
    if (maxOtherCpu_ == 0)
        return;
    lastPercent_ = percent;
    const bool over = percent > maxOtherCpu_;
    if (over == busy_) {
        crossedAtMs_.reset();
        return;
    }
    if (!crossedAtMs_)
        crossedAtMs_ = nowMs;
    const auto needed = busy_ ? kIdleAfterMs : kBusyAfterMs;
    if (nowMs - *crossedAtMs_ >= needed) {
        busy_ = over;
        crossedAtMs_.reset();
    }
}

void Suspension::tick(std::int64_t nowMs) {
    if (user_ && userUntilMs_ && nowMs >= *userUntilMs_) {
        user_ = false;
        userUntilMs_.reset();
    }
}

std::string Suspension::describe(std::string (*clockText)(std::int64_t ms)) const {
    std::string out;
    auto add = [&out](const std::string& reason) { out += (out.empty() ? "" : "; ") + reason; };
    if (user_)
        add(userUntilMs_ ? "user until " + clockText(*userUntilMs_) : "user");
    if (busy_)
        add(fmt::format("busy (other processes at {:.0f}% > {}%)", lastPercent_, maxOtherCpu_));
    if (userActive_)
        add("user active (logind)");
    return out;
}

std::string localClockText(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    return fmt::format("{:02}:{:02}", tm.tm_hour, tm.tm_min);
}

} // namespace swarm::worker

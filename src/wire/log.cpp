#include "wire/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace swarm::wire {

namespace {
// The one piece of process-wide state: the threshold chosen in main().
std::atomic<LogLevel> gLevel{LogLevel::kWarn};
std::mutex gWriteMutex;

const char* levelName(LogLevel level) noexcept {
    switch (level) {
    case LogLevel::kDebug:
        return "debug";
    case LogLevel::kInfo:
        return "info";
    case LogLevel::kWarn:
        return "warn";
    case LogLevel::kError:
        return "error";
    case LogLevel::kOff:
        return "off";
    }
    return "?";
}
} // namespace

void setLogLevel(LogLevel level) noexcept {
    gLevel.store(level, std::memory_order_relaxed);
}

LogLevel logLevel() noexcept {
    return gLevel.load(std::memory_order_relaxed);
}

std::optional<LogLevel> parseLogLevel(std::string_view name) noexcept {
    for (auto level :
         {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kOff})
        if (name == levelName(level))
            return level;
    return std::nullopt;
}

void logLine(LogLevel level, std::string_view domain, std::string_view message) noexcept {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t secs = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    std::lock_guard lock(gWriteMutex);
    std::fprintf(stderr, "%s.%03lld %-5s %.*s: %.*s\n", stamp, static_cast<long long>(ms),
                 levelName(level), static_cast<int>(domain.size()), domain.data(),
                 static_cast<int>(message.size()), message.data());
}

} // namespace swarm::wire

#pragma once

#include <fmt/format.h>

#include <optional>
#include <string_view>
#include <utility>

namespace swarm::wire {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

/// The process-wide threshold. Set once from main() (flag or SWARM_LOG);
/// reading it is a relaxed atomic load, safe from any thread.
void setLogLevel(LogLevel level) noexcept;
LogLevel logLevel() noexcept;
/// "debug", "info", "warn", "error", "off"; nullopt otherwise.
std::optional<LogLevel> parseLogLevel(std::string_view name) noexcept;

/// Writes one line to stderr: time, level, domain, message. Thread-safe;
/// lines from different threads never interleave.
void logLine(LogLevel level, std::string_view domain, std::string_view message) noexcept;

/// A logging domain (one per module: "wire", "dht", "sandbox", ...). Format
/// strings are checked at compile time. Never pass keys, tokens or payloads.
class Logger {
public:
    constexpr explicit Logger(std::string_view domain) : domain_(domain) {}

    template <typename... Args> void debug(fmt::format_string<Args...> f, Args&&... args) const {
        write(LogLevel::kDebug, f, std::forward<Args>(args)...);
    }
    template <typename... Args> void info(fmt::format_string<Args...> f, Args&&... args) const {
        write(LogLevel::kInfo, f, std::forward<Args>(args)...);
    }
    template <typename... Args> void warn(fmt::format_string<Args...> f, Args&&... args) const {
        write(LogLevel::kWarn, f, std::forward<Args>(args)...);
    }
    template <typename... Args> void error(fmt::format_string<Args...> f, Args&&... args) const {
        write(LogLevel::kError, f, std::forward<Args>(args)...);
    }

    bool enabled(LogLevel level) const noexcept { return level >= logLevel(); }

private:
    template <typename... Args>
    void write(LogLevel level, fmt::format_string<Args...> f, Args&&... args) const {
        if (!enabled(level))
            return;
        logLine(level, domain_, fmt::format(f, std::forward<Args>(args)...));
    }

    std::string_view domain_;
};

} // namespace swarm::wire

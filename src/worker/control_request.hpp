#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::worker {

/// One line sent to the daemon's control socket (ControlServer):
/// "status", "status text", "suspend", "suspend SECONDS" or "resume".
struct ControlRequest {
    enum class Kind { kStatus, kStatusText, kSuspend, kResume };
    Kind kind = Kind::kStatus;
    /// kSuspend: resume by itself after this long; nullopt: until resume.
    std::optional<std::int64_t> forMs;

    /// The line that asks for this (no newline).
    std::string line() const;
};

/// The request a line asks for, or a one-line error naming what is wrong
/// and what is understood.
std::expected<ControlRequest, std::string> parseControlLine(std::string_view line);

} // namespace swarm::worker

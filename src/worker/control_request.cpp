#include "worker/control_request.hpp"

#include "worker/duration.hpp"

#include <fmt/format.h>

namespace swarm::worker {

namespace {
constexpr std::string_view kKnown = "status, status text, suspend [SECONDS], resume";

// Control lines come from a local client; still, echo only a short,
// printable excerpt of what was not understood.
std::string excerpt(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 32))
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}
} // namespace

std::string ControlRequest::line() const {
    switch (kind) {
    case Kind::kStatus:
        return "status";
    case Kind::kStatusText:
        return "status text";
    case Kind::kSuspend:
        return forMs ? fmt::format("suspend {}", *forMs / 1000) : "suspend";
    case Kind::kResume:
        return "resume";
    }
    return "status";
}

std::expected<ControlRequest, std::string> parseControlLine(std::string_view line) {
    using Kind = ControlRequest::Kind;
    if (line == "status")
        return ControlRequest{Kind::kStatus};
    if (line == "status text")
        return ControlRequest{Kind::kStatusText};
    if (line == "resume")
        return ControlRequest{Kind::kResume};
    if (line == "suspend")
        return ControlRequest{Kind::kSuspend};
    if (line.starts_with("suspend ")) {
        const auto arg = line.substr(8);
        // Seconds only: the client has turned "30m" into 1800.
        if (arg.find_first_not_of("0123456789") == std::string_view::npos)
            if (auto ms = parseDurationMs(arg))
                return ControlRequest{Kind::kSuspend, ms};
        return std::unexpected(fmt::format("suspend: '{}' is not a number of seconds from 1 to {}",
                                           excerpt(arg), kMaxDurationSeconds));
    }
    return std::unexpected(fmt::format("unknown request '{}' (known: {})", excerpt(line), kKnown));
}

} // namespace swarm::worker

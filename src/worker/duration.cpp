#include "worker/duration.hpp"

#include <charconv>

namespace swarm::worker {

std::optional<std::int64_t> parseDurationMs(std::string_view text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data())
        return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::int64_t mult = 0;
    if (unit.empty() || unit == "s")
        mult = 1;
    else if (unit == "m")
        mult = 60;
    else if (unit == "h")
        mult = 3600;
    else if (unit == "d")
        mult = 24 * 3600;
    if (mult == 0 || n <= 0 || n > kMaxDurationSeconds / mult)
        return std::nullopt;
    return n * mult * 1000;
}

} // namespace swarm::worker

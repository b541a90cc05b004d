#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace swarm::worker {

/// The longest duration accepted anywhere (ten years).
inline constexpr std::int64_t kMaxDurationSeconds = std::int64_t{3650} * 24 * 3600;

/// "90s", "30m", "2h", "7d" or a whole number of seconds ("600"), above
/// zero and at most kMaxDurationSeconds, in milliseconds; nullopt for
/// anything else.
std::optional<std::int64_t> parseDurationMs(std::string_view text);

} // namespace swarm::worker

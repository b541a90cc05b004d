#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::worker {

/// The `containers` range of subordinate ids that rootful Podman takes
/// user namespaces from (`userns=auto` gives every unit its own): its
/// usual place and size.
inline constexpr std::uint64_t kContainersStart = 700'000'000;
inline constexpr std::uint64_t kContainersCount = 16'777'216;

/// The first start at or above `from` of `count` ids that overlap no range
/// of `file` (lines NAME:START:COUNT of /etc/subuid or /etc/subgid; other
/// lines are skipped).
std::uint64_t freeSubordinateStart(std::string_view file, std::uint64_t from, std::uint64_t count);

/// True if `file` has a range for `name`.
bool hasSubordinateRange(std::string_view file, std::string_view name);

/// Appends a `containers` range to `path` (created if missing) unless it
/// has one: the line added, or nullopt if there was one; an error naming
/// the file if it cannot be read or written.
std::expected<std::optional<std::string>, std::string>
addContainersRange(const std::filesystem::path& path);

} // namespace swarm::worker

#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace swarm::sandbox {

/// The processes of a container, found through /proc: every /proc/N whose
/// `ns/pid` link equals that of the container's init. `proc` is /proc
/// (another directory in tests). Processes that vanish meanwhile are
/// skipped; never throws for them.

/// The `ns/pid` link of `pid` ("pid:[4026532210]"), nullopt if it cannot be
/// read (gone, or not ours to see).
std::optional<std::string> pidNamespaceOf(pid_t pid, const std::filesystem::path& proc = "/proc");

/// Every process in the pid namespace of `init` (init included), in
/// ascending order; empty when `init` is gone or is in the caller's own pid
/// namespace (a pid reused by a host process).
std::vector<pid_t> processesInNamespaceOf(pid_t init, const std::filesystem::path& proc = "/proc");

/// The CPU time of one process from the text of /proc/N/stat, in clock
/// ticks: utime + stime + cutime + cstime (its own and that of its children
/// it has waited for). nullopt if the text is not such a line.
std::optional<std::uint64_t> cpuTicksOfStat(std::string_view stat);

/// The CPU time, in clock ticks, of every process in the pid namespace of
/// `init` (cpuTicksOfStat summed); 0 when `init` is gone.
std::uint64_t cpuTicksOfNamespace(pid_t init, const std::filesystem::path& proc = "/proc");

} // namespace swarm::sandbox

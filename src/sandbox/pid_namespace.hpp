#pragma once

#include "base/unique_fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::sandbox {

/// The `ns/pid` link of `pid` ("pid:[4026532210]"), nullopt if it cannot be
/// read (gone, or not ours to see).
std::optional<std::string> pidNamespaceOf(pid_t pid, const std::filesystem::path& proc = "/proc");

/// What the worker reads from /proc/N/stat.
struct PidStat {
    pid_t ppid = 0;
    std::uint64_t cpuTicks = 0;  ///< utime + stime + cutime + cstime
    std::uint64_t startTime = 0; ///< since boot, in clock ticks: with the pid, names the process
};

/// Parses the text of /proc/N/stat; nullopt if it is not such a line.
std::optional<PidStat> parsePidStat(std::string_view stat);

/// The CPU time of one process from the text of /proc/N/stat, in clock
/// ticks: utime + stime + cutime + cstime (its own and that of its children
/// it has waited for). nullopt if the text is not such a line.
std::optional<std::uint64_t> cpuTicksOfStat(std::string_view stat);

/// One process, named so that a pid reused by another cannot pass for it.
struct ProcessRef {
    pid_t pid = 0;
    std::uint64_t startTime = 0;
    bool operator==(const ProcessRef&) const = default;
};

/// The processes of one unit, found through /proc: those in its
/// container's pid namespace and all their descendants (a unit may make
/// pid namespaces of its own below it). The namespace is named once, just
/// after the container started, and held open for as long as this lives,
/// so its name cannot come to mean another namespace: a pid the host
/// reuses after the unit ended matches nothing. `proc` is /proc (another
/// directory in tests). Processes that vanish meanwhile are skipped.
class UnitProcesses {
public:
    /// The unit whose container's init is `init` now. Empty (it lists
    /// nothing) if `init` is gone or in the caller's own pid namespace.
    explicit UnitProcesses(pid_t init, std::filesystem::path proc = "/proc");

    bool empty() const { return ns_.empty(); }
    pid_t init() const { return init_; }

    /// Every process of the unit, ascending by pid.
    std::vector<ProcessRef> list() const;
    /// Their CPU time, in clock ticks (cpuTicksOfStat summed).
    std::uint64_t cpuTicks() const;
    /// Sends `sig` to `p` if it is still that process (through a pidfd, so
    /// that the pid cannot be reused between the check and the signal).
    bool signal(const ProcessRef& p, int sig) const;

private:
    std::filesystem::path proc_;
    pid_t init_ = 0;
    std::string ns_;
    base::UniqueFd nsFd_; // keeps the namespace, and so its name, alive
};

} // namespace swarm::sandbox

#pragma once

#include "sandbox/pid_namespace.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::worker {

/// The machine's CPU time from the first line of /proc/stat, in clock ticks.
struct CpuTimes {
    std::uint64_t busy = 0;  ///< user + nice + system + irq + softirq + steal
    std::uint64_t total = 0; ///< busy + idle + iowait
};

/// Parses the aggregate "cpu " line of /proc/stat text; nullopt if absent
/// or malformed.
std::optional<CpuTimes> parseProcStat(std::string_view text);

/// The share of the whole machine's CPU used by processes other than the
/// worker's units: between two calls of sample(), the busy time of
/// /proc/stat minus the CPU time of the units' processes (by pid namespace,
/// pid_namespace.hpp). Used by one thread. The readers are the real world's
/// seam: `readStat` returns /proc/stat's text ("" if unreadable), `unitTicks`
/// the CPU ticks of each running unit, keyed by its container's init pid.
class OtherCpu {
public:
    using ReadStat = std::function<std::string()>;
    using UnitTicks = std::function<std::map<pid_t, std::uint64_t>()>;

    OtherCpu(ReadStat readStat, UnitTicks unitTicks)
        : readStat_(std::move(readStat)), unitTicks_(std::move(unitTicks)) {}

    /// Percent (0 to 100) of the machine used by other processes since the
    /// previous call; nullopt on the first call or when /proc/stat cannot
    /// be read. A unit that ended in between loses its last ticks to
    /// "other" (at most one interval's worth).
    std::optional<double> sample();

private:
    ReadStat readStat_;
    UnitTicks unitTicks_;
    std::optional<CpuTimes> last_;
    std::map<pid_t, std::uint64_t> lastUnits_;
};

/// The real readers: /proc/stat, and the units registered with `units`
/// (sandbox::FreezeControl::units) counted through /proc.
OtherCpu::ReadStat procStatReader();
OtherCpu::UnitTicks
unitTicksReader(std::function<std::vector<std::shared_ptr<const sandbox::UnitProcesses>>()> units);

} // namespace swarm::worker

#pragma once

#include "sandbox/cpu_cap.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace swarm::sandbox {
struct HostProfile;
}
namespace swarm::wire {
struct Isolation;
}

namespace swarm::worker {

struct SandboxSetup;
struct WorkerConfig;

/// How the volunteer's CPU cap (WorkerConfig::cpuPercent) holds here.
struct CpuLimit {
    std::optional<sandbox::CpuCap> cap; ///< the parent cgroup of all units, if one is used
    bool enforced = false;              ///< false also when there is no cap
    std::string how;                    ///< one line for the log ("" with no cap)
};

/// Whether a cap can hold on a host with this profile: Podman applies
/// cgroup limits and the doctor saw a CPU quota take effect.
bool cpuCapEnforceable(const sandbox::HostProfile& profile, const wire::Isolation& isolation);

/// Applies cfg.cpuPercent of `cores` CPUs to every unit together: a parent
/// cgroup `cgroupName` under `cgroupRoot` with that quota (the setup's
/// profile then names it and its runtime is rebuilt); where the cgroup
/// cannot be made, each unit's own quota is lowered to the cap divided by
/// cfg.slots (cfg.cpusPerSlot); rootless on cgroup v1 nothing holds and
/// `how` says so. Sets setup.report.isolation.cpuCap. cfg.slots must be set.
CpuLimit applyCpuLimit(WorkerConfig& cfg, SandboxSetup& setup, const std::string& cgroupName,
                       std::uint32_t cores,
                       const std::filesystem::path& cgroupRoot = "/sys/fs/cgroup");

} // namespace swarm::worker

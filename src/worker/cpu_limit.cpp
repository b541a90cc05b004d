#include "worker/cpu_limit.hpp"

#include "sandbox/podman_runtime.hpp"
#include "sandbox/podman_service.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/worker_config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace swarm::worker {

bool cpuCapEnforceable(const sandbox::HostProfile& profile, const wire::Isolation& isolation) {
    return profile.cgroupLimits && isolation.cpu;
}

CpuLimit applyCpuLimit(WorkerConfig& cfg, SandboxSetup& setup, const std::string& cgroupName,
                       std::uint32_t cores, const std::filesystem::path& cgroupRoot) {
    CpuLimit limit;
    setup.report.isolation.cpuCap = false;
    if (cfg.cpuPercent >= 100)
        return limit;
    const double capCores = sandbox::cappedCores(cfg.cpuPercent, cores);
    const auto what = fmt::format("{}% of {} core(s) = {:.2f} CPU for all units together",
                                  cfg.cpuPercent, cores, capCores);
    auto& profile = setup.report.profile;
    if (!cpuCapEnforceable(profile, setup.report.isolation)) {
        limit.how = "CPU cap " + what +
                    " is NOT enforced: Podman applies no CPU limits here (rootless on cgroup v1)";
        return limit;
    }
    auto cap = sandbox::CpuCap::create(cgroupRoot, cgroupName, capCores);
    if (cap) {
        limit.how = fmt::format("CPU cap {}: cgroup {} with a quota of {} us per {} us; each "
                                "unit at most {:.2f} CPU",
                                what, cap->parent(), cap->quotaUs(), sandbox::CpuCap::kPeriodUs,
                                std::min(cfg.cpusPerSlot, capCores));
        profile.cgroupParent = cap->parent();
        // The kernel refuses a unit quota above its parent's (EINVAL).
        cfg.cpusPerSlot = std::max(0.01, std::min(cfg.cpusPerSlot, capCores));
        limit.cap.emplace(std::move(*cap));
    } else {
        // Each unit's own quota: the cap holds once all slots are busy too.
        const double perSlot = capCores / std::max<std::uint32_t>(1, cfg.slots);
        cfg.cpusPerSlot = std::max(0.01, std::min(cfg.cpusPerSlot, perSlot));
        limit.how = fmt::format("CPU cap {}: no parent cgroup ({}); each of the {} slot(s) gets "
                                "at most {:.2f} CPU instead",
                                what, cap.error(), cfg.slots, cfg.cpusPerSlot);
    }
    limit.enforced = true;
    setup.report.isolation.cpuCap = true;
    if (setup.service) // absent only in unit tests
        setup.runtime = std::make_unique<sandbox::PodmanRuntime>(setup.service->socket(), profile);
    return limit;
}

} // namespace swarm::worker

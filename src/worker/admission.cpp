#include "worker/admission.hpp"

#include "wire/messages.hpp"
#include "worker/worker_config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace swarm::worker {

sandbox::Limits slotLimits(const WorkerConfig& cfg) {
    sandbox::Limits limits;
    limits.memoryBytes = cfg.memoryPerSlot;
    limits.cpuMillis = static_cast<std::uint32_t>(cfg.cpusPerSlot * 1000);
    limits.pids = cfg.pidsPerSlot;
    limits.scratchBytes = cfg.scratchPerSlot;
    limits.maxOutputBytes = cfg.maxOutputBytes;
    return limits;
}

std::expected<Admission, std::string> admit(const wire::Assign& assign, const WorkerConfig& cfg) {
    Admission a;
    a.shippedImage = assign.imageArchive != wire::RawDigest{};
    if (a.shippedImage && !cfg.acceptImageArchives)
        return std::unexpected("this worker does not run shipped image archives");
    if (!a.shippedImage && !imageAllowed(assign.image, cfg.allowedImages))
        return std::unexpected("image '" + assign.image +
                               "' is not allowed by this worker's policy");
    if (assign.memoryBytes > cfg.memoryPerSlot)
        return std::unexpected(
            fmt::format("needs {} MiB of memory; this worker offers {} MiB per slot",
                        assign.memoryBytes >> 20, cfg.memoryPerSlot >> 20));
    if (assign.timeoutMs > cfg.maxTimeoutMs)
        return std::unexpected(fmt::format("timeout {} s is over this worker's limit of {} s",
                                           assign.timeoutMs / 1000, cfg.maxTimeoutMs / 1000));
    if (assign.command.empty())
        return std::unexpected("no command");

    a.limits = slotLimits(cfg);
    if (assign.memoryBytes)
        a.limits.memoryBytes = assign.memoryBytes;
    const double cpus = assign.cpus > 0 ? std::min(assign.cpus, cfg.cpusPerSlot) : cfg.cpusPerSlot;
    a.limits.cpuMillis = static_cast<std::uint32_t>(cpus * 1000);
    a.limits.pids = assign.pids > 0 ? std::min(assign.pids, cfg.pidsPerSlot) : cfg.pidsPerSlot;
    if (assign.timeoutMs > 0)
        a.limits.timeout = std::chrono::milliseconds(assign.timeoutMs);
    return a;
}

} // namespace swarm::worker

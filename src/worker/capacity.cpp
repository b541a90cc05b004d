#include "worker/capacity.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace swarm::worker {

HostFacts HostFacts::measure() {
    HostFacts h;
    h.cores = std::max(1u, std::thread::hardware_concurrency());
    h.memoryBytes = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                    static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    struct utsname u {};
    if (::uname(&u) == 0)
        h.arch = u.machine;
    return h;
}

wire::CapacityRecord capacityRecord(const HostFacts& host, std::uint32_t slots,
                                    const std::vector<std::string>& labels,
                                    const std::string& software) {
    wire::CapacityRecord record;
    record.cores = std::max<std::uint32_t>(1, host.cores * std::min(host.cpuPercent, 100u) / 100);
    record.memoryBytes = host.memoryBytes;
    record.slots = slots;
    record.freeSlots = slots;
    record.arch = host.arch;
    record.os = "linux";
    record.labels = labels;
    record.podman = host.podmanVersion;
    record.rootless = host.rootless;
    record.isolation = host.isolation;
    record.software = software;
    return record;
}

} // namespace swarm::worker

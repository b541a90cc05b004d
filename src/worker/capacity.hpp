#pragma once

#include "wire/records.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace swarm::worker {

/// What the worker's machine is, as measured once at start.
struct HostFacts {
    std::uint32_t cores = 1;
    std::uint64_t memoryBytes = 0;
    std::string arch; ///< uname's machine, e.g. "x86_64"
    std::string podmanVersion;
    bool rootless = false;
    wire::Isolation isolation; ///< what the doctor measured in force
    /// The volunteer's CPU cap (WorkerConfig::cpuPercent, 100 = none):
    /// the record advertises the cores it leaves.
    std::uint32_t cpuPercent = 100;

    /// Cores, memory and arch of this machine (sysconf, uname); the Podman
    /// fields are left for the caller. Never throws.
    static HostFacts measure();
};

/// The record the worker announces: the host's facts (cores reduced to
/// the CPU cap, at least one), its slots (all free at start) and the
/// volunteer's labels. Pure.
wire::CapacityRecord capacityRecord(const HostFacts& host, std::uint32_t slots,
                                    const std::vector<std::string>& labels,
                                    const std::string& software);

} // namespace swarm::worker

#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

namespace swarm::sandbox {

/// One cgroup that holds all of a worker's units (Podman's cgroup_parent)
/// and caps their CPU time together: the cap holds whatever the number of
/// slots. On cgroup v1 the cpu controller's cfs_quota_us is set; on v2
/// cpu.max. Only root can make one. Move-only; the destructor removes the
/// cgroup directories if nothing runs in them any more.
class CpuCap {
public:
    /// The CFS period used (100 ms, the kernel's default).
    static constexpr std::int64_t kPeriodUs = 100'000;

    /// Creates (or reuses) cgroup `name` (no '/') under the cgroup mount
    /// `root` (normally /sys/fs/cgroup) with a quota of `cores` CPUs
    /// (e.g. 1.5 = one and a half cores' time per period). A one-line
    /// reason when it cannot (no cpu controller, not permitted). Never throws.
    static std::expected<CpuCap, std::string> create(const std::filesystem::path& root,
                                                     const std::string& name, double cores);

    CpuCap(CpuCap&& other) noexcept;
    CpuCap& operator=(CpuCap&& other) = delete;
    CpuCap(const CpuCap&) = delete;
    ~CpuCap();

    /// The cgroup_parent to give Podman: "/<name>".
    std::string parent() const { return "/" + name_; }
    /// The quota set, in microseconds per kPeriodUs.
    std::int64_t quotaUs() const noexcept { return quotaUs_; }
    /// The CPU time used by everything in the cgroup since it was made, in
    /// nanoseconds (cpuacct.usage on v1, cpu.stat usage_usec on v2);
    /// nullopt when it cannot be read.
    std::optional<std::uint64_t> usageNs() const;

private:
    CpuCap(std::filesystem::path root, std::string name, bool v2, std::int64_t quotaUs)
        : root_(std::move(root)), name_(std::move(name)), v2_(v2), quotaUs_(quotaUs) {}

    std::filesystem::path root_;
    std::string name_; // empty once moved from
    bool v2_ = false;
    std::int64_t quotaUs_ = 0;
};

/// The quota for `percent` (1 to 100) of a machine with `cores` CPUs, in
/// CPUs: percent × cores / 100.
double cappedCores(std::uint32_t percent, std::uint32_t cores);

} // namespace swarm::sandbox

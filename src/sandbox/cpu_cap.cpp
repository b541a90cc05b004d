#include "sandbox/cpu_cap.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace swarm::sandbox {

namespace fs = std::filesystem;

namespace {

// Writes `value` to a cgroup control file; the reason on failure.
std::optional<std::string> writeControl(const fs::path& file, const std::string& value) {
    std::ofstream out(file);
    if (!out)
        return "cannot open " + file.string() + ": " + std::strerror(errno);
    out << value;
    out.flush();
    if (!out)
        return "cannot write '" + value + "' to " + file.string() + ": " + std::strerror(errno);
    return std::nullopt;
}

std::optional<std::string> makeDir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directory(dir, ec);
    if (ec)
        return "cannot create cgroup " + dir.string() + ": " + ec.message();
    return std::nullopt;
}

} // namespace

double cappedCores(std::uint32_t percent, std::uint32_t cores) {
    return static_cast<double>(percent) * static_cast<double>(cores) / 100.0;
}

std::expected<CpuCap, std::string> CpuCap::create(const fs::path& root, const std::string& name,
                                                  double cores) {
    if (name.empty() || name.find('/') != std::string::npos || name.starts_with("."))
        return std::unexpected("bad cgroup name '" + name + "'");
    // The kernel refuses quotas under 1 ms.
    const auto quota = std::max<std::int64_t>(
        1000, static_cast<std::int64_t>(std::llround(cores * static_cast<double>(kPeriodUs))));
    std::error_code ec;
    if (fs::exists(root / "cpu" / "cpu.cfs_quota_us", ec)) {
        const fs::path dir = root / "cpu" / name;
        if (auto err = makeDir(dir))
            return std::unexpected(*err);
        // Period first: a quota is checked against the period in force.
        if (auto err = writeControl(dir / "cpu.cfs_period_us", std::to_string(kPeriodUs)))
            return std::unexpected(*err);
        if (auto err = writeControl(dir / "cpu.cfs_quota_us", std::to_string(quota)))
            return std::unexpected(*err);
        return CpuCap(root, name, false, quota);
    }
    if (fs::exists(root / "cgroup.controllers", ec)) {
        // v2: the cpu controller must be on for the root's children.
        if (auto err = writeControl(root / "cgroup.subtree_control", "+cpu"))
            return std::unexpected(*err);
        const fs::path dir = root / name;
        if (auto err = makeDir(dir))
            return std::unexpected(*err);
        if (auto err = writeControl(dir / "cpu.max",
                                    std::to_string(quota) + " " + std::to_string(kPeriodUs)))
            return std::unexpected(*err);
        return CpuCap(root, name, true, quota);
    }
    return std::unexpected("no cgroup cpu controller under " + root.string());
}

CpuCap::CpuCap(CpuCap&& other) noexcept
    : root_(std::move(other.root_)), name_(std::exchange(other.name_, {})), v2_(other.v2_),
      quotaUs_(other.quotaUs_) {}

CpuCap::~CpuCap() {
    if (name_.empty())
        return;
    // runc made the parent in every v1 hierarchy and Podman put conmon's
    // cgroup under it; a directory still in use stays (rmdir fails).
    std::error_code ec;
    std::vector<fs::path> dirs;
    if (v2_) {
        dirs.push_back(root_ / name_);
    } else {
        for (const auto& hierarchy : fs::directory_iterator(root_, ec))
            dirs.push_back(hierarchy.path() / name_);
    }
    for (const auto& dir : dirs) {
        fs::remove(dir / "conmon", ec);
        fs::remove(dir, ec);
    }
}

std::optional<std::uint64_t> CpuCap::usageNs() const {
    if (name_.empty())
        return std::nullopt;
    if (v2_) {
        std::ifstream in(root_ / name_ / "cpu.stat");
        std::string key;
        std::uint64_t value = 0;
        while (in >> key >> value)
            if (key == "usage_usec")
                return value * 1000;
        return std::nullopt;
    }
    for (const char* hierarchy : {"cpuacct", "cpu,cpuacct", "cpu"}) {
        std::ifstream in(root_ / hierarchy / name_ / "cpuacct.usage");
        std::uint64_t value = 0;
        if (in >> value)
            return value;
    }
    return std::nullopt;
}

} // namespace swarm::sandbox

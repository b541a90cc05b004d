#include "sandbox/doctor.hpp"

#include "sandbox/podman_client.hpp"
#include "wire/log.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

namespace swarm::sandbox {

namespace {

using namespace std::chrono_literals;
const wire::Logger kLog("sandbox");

std::map<std::string, std::string> keyValues(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos)
            out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

// Runs one probe in a scratch output directory.
UnitResult probe(PodmanRuntime& runtime, const std::string& image, const std::string& name,
                 const std::string& script, const Limits& limits) {
    auto dir = std::filesystem::temp_directory_path() /
               fmt::format("swarm-doctor-{}-{}", name, std::random_device{}());
    std::filesystem::create_directories(dir);
    UnitSpec spec;
    spec.unitId = "doctor-" + name;
    spec.workerId = "doctor";
    spec.image = image;
    spec.command = {"/bin/sh", "-c", script};
    spec.outputDir = dir;
    spec.limits = limits;
    UnitResult r;
    try {
        r = runtime.run(spec);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        throw;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return r;
}

constexpr const char* kFactsScript = R"sh(
echo "uidmap=$(head -n 1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
echo "seccomp=$(grep '^Seccomp:' /proc/self/status | tr -dc 0-9)"
if unshare -U true 2>/dev/null; then echo unshare=allowed; else echo unshare=refused; fi
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
if touch /probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=readonly; fi
echo "cpuquota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max 2>/dev/null)"
)sh";

// 64 MiB buffer in one process against a 32 MiB limit.
constexpr const char* kMemoryScript =
    "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null && echo survived=yes";
// 40 sleepers against a pids limit of 16; busybox sh gives up at the first
// failed fork, so "spawned=40" appears only when nothing stopped it.
constexpr const char* kPidsScript =
    "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo spawned=$i";

} // namespace

DoctorReport runDoctor(const std::filesystem::path& socket, const DoctorOptions& options) {
    DoctorReport rep;
    rep.socket = socket.string();
    PodmanClient client(socket);
    if (!client.ping(3s)) {
        rep.problems.push_back("Podman does not answer on " + rep.socket);
        return rep;
    }
    rep.reachable = true;
    try {
        rep.info = queryInfo(client);
    } catch (const std::exception& e) {
        rep.problems.push_back(e.what());
        return rep;
    }
    std::optional<std::filesystem::path> seccomp = options.seccompProfile;
    if (seccomp && !std::filesystem::exists(*seccomp)) {
        rep.problems.push_back("seccomp profile " + seccomp->string() + " not found");
        seccomp.reset();
    }
    rep.profile = profileFromInfo(rep.info, seccomp);

    // Probes send every limit (even where Podman may drop them) and no
    // rlimit fallbacks, so that they measure the cgroup alone.
    HostProfile probeProfile = rep.profile;
    probeProfile.cgroupLimits = !(rep.info.rootless && rep.info.cgroupVersion == "v1");
    probeProfile.rlimitFallbacks = false;
    PodmanRuntime runtime(socket, probeProfile);
    try {
        runtime.cleanupLeftovers("doctor"); // probes of an earlier, killed doctor run
    } catch (const std::exception& e) {
        rep.problems.push_back(std::string("cleanup of old probes failed: ") + e.what());
    }
    Limits limits;
    limits.timeout = 20s;
    limits.memoryBytes = 32ull << 20;
    limits.pids = 16;
    limits.cpuMillis = 500;
    limits.maxOutputBytes = 1 << 20;
    try {
        auto facts = probe(runtime, options.probeImage, "facts", kFactsScript, limits);
        if (!facts.started) {
            rep.problems.push_back("probe container did not start: " + facts.error);
            // Rootful Podman's userns=auto takes ids from a `containers`
            // range in /etc/subuid and /etc/subgid.
            if (facts.error.find("available IDs") != std::string::npos)
                rep.problems.back() += "; units get user namespaces from a 'containers' range "
                                       "in /etc/subuid and /etc/subgid, which 'swarm-worker "
                                       "doctor --fix' adds";
            return rep;
        }
        auto kv = keyValues(facts.stdoutText);
        auto& iso = rep.isolation;
        iso.userns = !kv["uidmap"].starts_with("0 0 ");
        iso.seccomp = kv["unshare"] == "refused" && kv["seccomp"] == "2" && seccomp.has_value();
        iso.network = kv["net"] == "lo " || kv["net"].empty();
        iso.readOnly = kv["rootfs"] == "readonly";
        iso.cpu = kv["cpuquota"] == "50000";
        rep.cpuQuotaVisible = iso.cpu;

        auto mem = probe(runtime, options.probeImage, "memory", kMemoryScript, limits);
        iso.memory = mem.started && mem.stdoutText.find("survived=yes") == std::string::npos;

        auto pids = probe(runtime, options.probeImage, "pids", kPidsScript, limits);
        iso.pids = pids.started && pids.stdoutText.find("spawned=40") == std::string::npos;
        rep.probed = true;
    } catch (const std::exception& e) {
        rep.problems.push_back(std::string("probe failed: ") + e.what());
        return rep;
    }

    rep.profile.memoryEnforced = rep.isolation.memory;
    rep.profile.pidsEnforced = rep.isolation.pids;
    rep.profile.cpuEnforced = rep.isolation.cpu;
    if (!rep.isolation.memory)
        rep.fallbacks.push_back(
            fmt::format("memory: RLIMIT_DATA = max(unit memory limit, {} MiB) per process (several "
                        "processes together can exceed it; runc needs the floor to start)",
                        kMinDataLimit >> 20));
    if (!rep.isolation.pids)
        rep.fallbacks.push_back("pids: RLIMIT_NPROC = the unit's pids limit, counted per uid");
    if (!rep.isolation.cpu)
        rep.fallbacks.push_back("cpu: no quota; RLIMIT_CPU and the wall-clock timeout bound "
                                "CPU time");
    rep.fallbacks.push_back("time: the worker kills a unit at its wall-clock timeout "
                            "(always, whatever the cgroups do)");
    if (!rep.isolation.userns)
        rep.problems.push_back("units' root is host root (no user namespace)");
    if (!rep.isolation.seccomp)
        rep.problems.push_back("the stricter seccomp profile is not in force");
    return rep;
}

std::string DoctorReport::text() const {
    auto yes = [](bool b) { return b ? "enforced" : "NOT enforced"; };
    std::string s;
    s += fmt::format("podman:       {}\n",
                     reachable ? "reachable at " + socket : "NOT reachable (" + socket + ")");
    if (reachable) {
        s += fmt::format("version:      {}\n", info.version);
        s += fmt::format("mode:         {}\n", info.rootless ? "rootless" : "root");
        s += fmt::format("cgroups:      {} ({})\n", info.cgroupVersion, info.cgroupManager);
        s += fmt::format("runtime:      {}\n", info.runtime);
        s += fmt::format("storage:      {}\n", info.storageDriver);
    }
    if (probed) {
        s += "measured with probe containers:\n";
        s += fmt::format("  memory:     {}\n", yes(isolation.memory));
        s += fmt::format("  cpu:        {}\n", yes(isolation.cpu));
        s += fmt::format("  pids:       {}\n", yes(isolation.pids));
        s += fmt::format("  userns:     {}\n",
                         isolation.userns ? "yes (unit root is not host root)" : "NO");
        s += fmt::format("  seccomp:    {}\n",
                         isolation.seccomp ? "swarm profile (unshare refused)" : "NOT in force");
        s += fmt::format("  network:    {}\n", isolation.network ? "none" : "PRESENT");
        s += fmt::format("  read-only:  {}\n", isolation.readOnly ? "yes" : "NO");
    } else {
        s += "limits:       not measured (nothing is claimed)\n";
    }
    for (const auto& f : fallbacks)
        s += "fallback:     " + f + "\n";
    for (const auto& p : problems)
        s += "problem:      " + p + "\n";
    return s;
}

} // namespace swarm::sandbox

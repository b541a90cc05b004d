#include "sandbox/container_freezer.hpp"

#include "sandbox/container_spec.hpp"
#include "sandbox/pid_namespace.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_request.hpp"
#include "wire/log.hpp"

#include <signal.h>

#include <set>

namespace swarm::sandbox {

namespace {
const wire::Logger kLog("sandbox");
// A pass that finds a new process runs again; a unit forking faster than
// this many passes catch is stopped in its already stopped part and the
// rest the next time its run looks (each slice while frozen).
constexpr int kMaxStopPasses = 8;
} // namespace

FreezeMethod freezeMethodFor(const HostProfile& host) {
    return host.cgroupLimits ? FreezeMethod::kCgroupFreezer : FreezeMethod::kSignals;
}

std::string_view describe(FreezeMethod method) {
    switch (method) {
    case FreezeMethod::kCgroupFreezer:
        return "cgroup freezer (podman pause)";
    case FreezeMethod::kSignals:
        return "SIGSTOP/SIGCONT of the unit's processes (rootless on cgroup v1 cannot pause)";
    }
    return "unknown";
}

bool ContainerFreezer::pause(const std::string& container, const UnitProcesses* procs) {
    if (method_ == FreezeMethod::kCgroupFreezer)
        return callPodman(container, "pause");
    if (procs != nullptr && stopUnit(*procs))
        return true;
    kLog.warn("cannot stop the processes of {}: none is left", container);
    return false;
}

bool ContainerFreezer::unpause(const std::string& container, const UnitProcesses* procs) {
    if (method_ == FreezeMethod::kCgroupFreezer)
        return callPodman(container, "unpause");
    if (procs != nullptr && continueUnit(*procs))
        return true;
    kLog.warn("cannot continue the processes of {}: none is left", container);
    return false;
}

bool ContainerFreezer::callPodman(const std::string& container, std::string_view action) {
    auto r = client_.call(request("POST", "/containers/" + container + "/" + std::string(action)));
    if (r.status == 204 || r.status == 200)
        return true;
    kLog.warn("podman {} {}: HTTP {} {}", action, container, r.status, errorText(r));
    return false;
}

bool stopUnit(const UnitProcesses& procs) {
    std::set<pid_t> stopped;
    for (int pass = 0; pass < kMaxStopPasses; ++pass) {
        bool found = false;
        for (const auto& p : procs.list()) {
            if (!stopped.insert(p.pid).second)
                continue;
            found = true;
            procs.signal(p, SIGSTOP);
        }
        if (!found)
            break;
    }
    return !stopped.empty();
}

bool continueUnit(const UnitProcesses& procs) {
    auto list = procs.list();
    for (const auto& p : list)
        procs.signal(p, SIGCONT);
    return !list.empty();
}

} // namespace swarm::sandbox

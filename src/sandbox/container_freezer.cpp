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
// rest next time the worker looks (each slice).
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

bool ContainerFreezer::pause(const std::string& container, pid_t init) {
    if (method_ == FreezeMethod::kCgroupFreezer)
        return callPodman(container, "pause");
    if (init > 0 && stopNamespace(init))
        return true;
    kLog.warn("cannot stop the processes of {}: its init {} is gone", container, init);
    return false;
}

bool ContainerFreezer::unpause(const std::string& container, pid_t init) {
    if (method_ == FreezeMethod::kCgroupFreezer)
        return callPodman(container, "unpause");
    if (init > 0 && continueNamespace(init))
        return true;
    kLog.warn("cannot continue the processes of {}: its init {} is gone", container, init);
    return false;
}

bool ContainerFreezer::callPodman(const std::string& container, std::string_view action) {
    auto r = client_.call(request("POST", "/containers/" + container + "/" + std::string(action)));
    if (r.status == 204 || r.status == 200)
        return true;
    kLog.warn("podman {} {}: HTTP {} {}", action, container, r.status, errorText(r));
    return false;
}

bool stopNamespace(pid_t init) {
    std::set<pid_t> stopped;
    for (int pass = 0; pass < kMaxStopPasses; ++pass) {
        bool found = false;
        for (auto pid : processesInNamespaceOf(init)) {
            if (!stopped.insert(pid).second)
                continue;
            found = true;
            ::kill(pid, SIGSTOP);
        }
        if (!found)
            break;
    }
    return !stopped.empty();
}

bool continueNamespace(pid_t init) {
    auto pids = processesInNamespaceOf(init);
    for (auto pid : pids)
        ::kill(pid, SIGCONT);
    return !pids.empty();
}

} // namespace swarm::sandbox

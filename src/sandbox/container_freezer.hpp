#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace swarm::sandbox {

class PodmanClient;
class UnitProcesses;
struct HostProfile;

/// How a running unit is frozen while the worker is suspended.
enum class FreezeMethod {
    /// Podman's pause/unpause: the cgroup freezer (rootful, or cgroup v2).
    kCgroupFreezer,
    /// SIGSTOP/SIGCONT to every process in the container's pid namespace:
    /// rootless on cgroup v1, where Podman cannot pause.
    kSignals,
};

/// The method that works on a host with this profile: the cgroup freezer
/// wherever Podman applies cgroups, else signals.
FreezeMethod freezeMethodFor(const HostProfile& host);

/// One line for status, doctor and the log.
std::string_view describe(FreezeMethod method);

/// Freezes and thaws one container by `method`. Borrows `client`; used by
/// the one thread that runs the unit.
class ContainerFreezer {
public:
    ContainerFreezer(PodmanClient& client, FreezeMethod method)
        : client_(client), method_(method) {}

    /// Freezes `container`, whose processes `procs` are (used by kSignals;
    /// may be null when they could not be named). False (with a warning
    /// logged) when it could not: e.g. it exited meanwhile. Throws
    /// std::system_error when Podman is unreachable.
    bool pause(const std::string& container, const UnitProcesses* procs);
    /// Lets it run again; false as for pause().
    bool unpause(const std::string& container, const UnitProcesses* procs);

    FreezeMethod method() const noexcept { return method_; }

private:
    bool callPodman(const std::string& container, std::string_view action);

    PodmanClient& client_;
    FreezeMethod method_;
};

/// SIGSTOP to every process of the unit, repeated until a pass finds none
/// not yet stopped (a process forked during the pass is caught by the next;
/// at most a few passes, and again at each look while frozen). False if it
/// has no process left.
bool stopUnit(const UnitProcesses& procs);
/// SIGCONT to every process of the unit.
bool continueUnit(const UnitProcesses& procs);

} // namespace swarm::sandbox

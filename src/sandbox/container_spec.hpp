#pragma once

#include "sandbox/unit_spec.hpp"
#include "wire/error.hpp"

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// What the runtime knows about the host; decides which protections go
/// into the container spec and which fallbacks replace missing ones.
struct HostProfile {
    bool rootless = false;
    /// Podman applies cgroup limits (false: rootless on cgroup v1, where it
    /// silently drops them).
    bool cgroupLimits = true;
    /// Rootful: run every unit in its own user namespace (userns=auto).
    bool usernsAuto = true;
    /// Measured by the doctor; when false the rlimit fallback is added.
    bool memoryEnforced = true;
    bool pidsEnforced = true;
    bool cpuEnforced = true;
    /// Add rlimits as defence in depth and as fallbacks: RLIMIT_NPROC = pids
    /// always, RLIMIT_DATA (see fallbackDataLimit) and RLIMIT_CPU where the cgroup
    /// limit is not enforced. Off only for the doctor's probes, which
    /// measure the cgroups alone.
    bool rlimitFallbacks = true;
    /// Where this process can see and own the unit volume's host directory
    /// (root, local Podman service), write the inputs into it and copy the
    /// outputs out of it directly; else, and when false, go through Podman's
    /// archive endpoints (which re-execute Podman for every copy).
    bool directVolumeCopies = true;
    /// The cgroup every unit is created under (CpuCap::parent(): the
    /// worker's CPU cap for all units together); empty: Podman's default.
    /// Used only with cgroupLimits.
    std::string cgroupParent;
    /// Our seccomp profile, as a path the Podman service can read.
    std::optional<std::filesystem::path> seccompProfile;
};

/// Names of the objects created for one unit.
struct ContainerNames {
    std::string container;
    std::string volume;
};

/// Container and volume names for a unit: "swarm-<unit>-<suffix>" with the
/// unit id reduced to [A-Za-z0-9_.-] and at most 40 characters.
ContainerNames containerNames(std::string_view unitId, std::string_view suffix);

/// Checks a spec before anything is created: a command, a numeric non-root
/// "uid:gid", safe input names, non-zero limits, an existing empty output
/// directory. kInvalidArgument describing the first problem.
std::expected<void, wire::Error> validateSpec(const UnitSpec& spec);

/// The uid and gid from a validated spec's "uid:gid".
std::pair<std::uint32_t, std::uint32_t> parseUser(std::string_view user);

/// The JSON body for POST /libpod/containers/create (Podman 4.x
/// SpecGenerator): no network, read-only root, no capabilities,
/// no-new-privileges, seccomp, cgroup limits when the host applies them,
/// rlimits always (RLIMIT_DATA too when memory is not enforced), tmpfs /tmp,
/// a private IPC namespace with its own tmpfs /dev/shm, the unit volume at
/// /work, labels swarm=1 / swarm.unit / swarm.worker.
std::string buildCreateBody(const UnitSpec& spec, const HostProfile& host,
                            const ContainerNames& names);

/// The JSON body for POST /libpod/volumes/create with the same labels.
std::string buildVolumeBody(const UnitSpec& spec, const ContainerNames& names);

/// runc applies a unit's rlimits to its own (Go) init process before it
/// execs the unit: below ~128 MiB of RLIMIT_DATA runc itself fails to start.
inline constexpr std::uint64_t kMinDataLimit = 128ull << 20;

/// The RLIMIT_DATA used where the memory cgroup is not enforced:
/// max(memoryBytes, kMinDataLimit). RLIMIT_AS is not usable at all (runc's
/// address-space reservations exceed any useful limit).
std::uint64_t fallbackDataLimit(std::uint64_t memoryBytes);

/// The size of a unit's /dev/shm: min(scratchBytes, kMaxShmBytes).
inline constexpr std::uint64_t kMaxShmBytes = 16ull << 20;

/// Label keys.
inline constexpr std::string_view kLabelSwarm = "swarm";
inline constexpr std::string_view kLabelUnit = "swarm.unit";
inline constexpr std::string_view kLabelWorker = "swarm.worker";

} // namespace swarm::sandbox

#pragma once

#include "sandbox/container_spec.hpp"
#include "sandbox/podman_runtime.hpp"
#include "wire/records.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace swarm::sandbox {

struct DoctorOptions {
    /// A local image with a POSIX shell and busybox-style tools for the probes.
    std::string probeImage = "localhost/swarm-test:latest";
    /// Our seccomp profile (as the Podman service sees it).
    std::optional<std::filesystem::path> seccompProfile;
};

/// What is actually enforced on this host, measured with probe containers.
struct DoctorReport {
    bool reachable = false;
    std::string socket;
    PodmanInfo info;
    bool probed = false;                ///< the probe containers ran
    wire::Isolation isolation;          ///< measured, never assumed
    bool cpuQuotaVisible = false;       ///< same as isolation.cpu
    HostProfile profile;                ///< what PodmanRuntime should use here
    std::vector<std::string> fallbacks; ///< what replaces each missing limit
    std::vector<std::string> problems;  ///< why something could not be measured
    /// A readable multi-line report (what `swarm-worker doctor` prints).
    std::string text() const;
};

/// Asks Podman about itself and runs three short probe containers (facts,
/// memory hog, fork burst) to measure which protections hold. Never throws
/// for an unreachable Podman or a missing probe image: the report says so
/// (and claims nothing). Blocks for a few seconds.
DoctorReport runDoctor(const std::filesystem::path& socket, const DoctorOptions& options);

} // namespace swarm::sandbox

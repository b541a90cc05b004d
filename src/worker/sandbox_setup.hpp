#pragma once

#include "sandbox/doctor.hpp"
#include "sandbox/podman_runtime.hpp"
#include "sandbox/podman_service.hpp"
#include "sandbox/probe_image.hpp"

#include <filesystem>
#include <memory>
#include <optional>

namespace swarm::worker {

/// The sandbox as this machine offers it: a reachable Podman service (ours
/// if we had to start one), the doctor's measured report, and a runtime
/// configured from that report.
struct SandboxSetup {
    std::unique_ptr<sandbox::PodmanService> service;
    sandbox::DoctorReport report;
    std::unique_ptr<sandbox::PodmanRuntime> runtime;
    /// The project's files in use (findPackagingFile), if found.
    std::optional<std::filesystem::path> seccompProfile;
    std::optional<std::filesystem::path> containersConf;
};

/// Finds a file the project ships in packaging/ (containers.conf,
/// seccomp.json): $SWARM_PACKAGING_DIR, PREFIX/share/swarm beside this binary
/// (PREFIX/bin), the installed share directories, then
/// the source tree this binary was built from. nullopt if none has it.
std::optional<std::filesystem::path> findPackagingFile(const std::string& name);

/// Connects to (or starts) Podman, runs the doctor's probes and builds the
/// runtime. The default probe image, the worker's own, is built first if
/// missing (a failure is the report's first problem). Throws
/// std::runtime_error if Podman cannot be reached. Blocks for a few seconds
/// (the probes).
SandboxSetup setUpSandbox(const std::string& probeImage = sandbox::kProbeImage);

} // namespace swarm::worker

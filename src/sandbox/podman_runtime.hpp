#pragma once

#include "sandbox/container_runtime.hpp"
#include "sandbox/container_spec.hpp"

#include <filesystem>
#include <string>

namespace swarm::sandbox {

class PodmanClient;

/// ContainerRuntime on Podman's REST API. Each run() uses its own
/// connection, so runs may proceed concurrently from several threads.
class PodmanRuntime final : public ContainerRuntime {
public:
    /// `socket`: a reachable Podman API socket (see PodmanService). `host`
    /// decides the protections and fallbacks (see Doctor for measuring it).
    PodmanRuntime(std::filesystem::path socket, HostProfile host);

    UnitResult run(const UnitSpec& spec) override;
    std::size_t cleanupLeftovers(std::string_view workerId) override;
    FreezeMethod freezeMethod() const override { return freezeMethodFor(host_); }

    const HostProfile& host() const noexcept { return host_; }

private:
    std::filesystem::path socket_;
    HostProfile host_;
};

/// Facts Podman reports about itself (GET /libpod/info).
struct PodmanInfo {
    std::string version;
    bool rootless = false;
    std::string cgroupVersion; ///< "v1" or "v2"
    std::string runtime;       ///< OCI runtime name, e.g. "runc"
    std::string storageDriver;
    std::string cgroupManager;
};

/// Queries /libpod/info. Throws std::runtime_error on failure.
PodmanInfo queryInfo(PodmanClient& client);

/// A HostProfile from Podman's own report, before any measurement: cgroup
/// limits assumed to work except rootless on cgroup v1.
HostProfile profileFromInfo(const PodmanInfo& info,
                            std::optional<std::filesystem::path> seccompProfile);

} // namespace swarm::sandbox

#pragma once

#include "wire/home.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace swarm::sandbox {

/// How to find or start a Podman API service.
struct ServiceOptions {
    /// The project's containers.conf for a service we start (see
    /// findContainersConf()). Without one, Podman's own defaults apply.
    std::optional<std::filesystem::path> containersConf;
    /// Skip $CONTAINER_HOST and the user's socket; always start a private
    /// service (tests, and hosts whose shared service is misconfigured).
    bool privateOnly = false;
    std::string podmanBinary = "podman";
    std::chrono::milliseconds startTimeout{20'000};
};

/// Locates the project's containers.conf: `explicitPath` if given, else
/// $SWARM_CONTAINERS_CONF, else the installed copy
/// (/usr/local/share/swarm, /usr/share/swarm), else `sourceTree`
/// /packaging/containers.conf. nullopt when none exists.
std::optional<std::filesystem::path>
findContainersConf(const std::optional<std::filesystem::path>& explicitPath,
                   const wire::EnvLookup& env,
                   const std::optional<std::filesystem::path>& sourceTree = std::nullopt);

/// A reachable Podman API socket; if this object started the service, it
/// owns that child process and stops it (by pid) on destruction.
class PodmanService {
public:
    /// Uses $CONTAINER_HOST (unix:// only), else $XDG_RUNTIME_DIR/podman/
    /// podman.sock (rootless) or /run/podman/podman.sock (root), whichever
    /// answers _ping; otherwise starts `podman system service --time=0` on a
    /// private socket in a fresh 0700 directory with CONTAINERS_CONF set and
    /// waits (bounded) until it answers. Throws base::Failure when no
    /// service can be reached or started: PodmanErrc::kMisconfigured (a bad
    /// CONTAINER_HOST, permanent), kServiceExited or kTimeout (transient);
    /// std::system_error (generic) when mkdtemp or fork fails. Blocks.
    static std::unique_ptr<PodmanService> connect(const ServiceOptions& options,
                                                  const wire::EnvLookup& env);
    ~PodmanService();
    PodmanService(const PodmanService&) = delete;
    PodmanService& operator=(const PodmanService&) = delete;

    const std::filesystem::path& socket() const noexcept { return socket_; }
    /// The pid of the service we started, or nullopt if we found one.
    std::optional<pid_t> childPid() const noexcept { return child_; }
    /// How it was found: "CONTAINER_HOST", "user socket", "system socket",
    /// "private service".
    const std::string& origin() const noexcept { return origin_; }

private:
    PodmanService(std::filesystem::path socket, std::string origin) noexcept
        : socket_(std::move(socket)), origin_(std::move(origin)) {}
    void stop() noexcept;

    std::filesystem::path socket_;
    std::string origin_;
    std::optional<pid_t> child_;
    std::filesystem::path privateDir_;
};

} // namespace swarm::sandbox

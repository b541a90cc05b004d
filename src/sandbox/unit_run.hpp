#pragma once

#include "sandbox/attach_stream.hpp"
#include "sandbox/container_freezer.hpp"
#include "sandbox/container_spec.hpp"
#include "sandbox/pid_namespace.hpp"
#include "sandbox/unit_deadline.hpp"
#include "sandbox/unit_spec.hpp"
#include "wire/error.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::sandbox {

class PodmanClient;

/// One unit in Podman, from volume creation to removal: what
/// PodmanRuntime::run() does with a validated spec, one method per phase.
/// Borrows `client`, `host` and `spec` for its lifetime; used once, by one
/// thread. The destructor removes the container and its volume whatever
/// happened (failures are logged; cleanupLeftovers() removes what remains),
/// then joins the attach stream.
class UnitRun {
public:
    UnitRun(PodmanClient& client, const HostProfile& host, const UnitSpec& spec,
            ContainerNames names);
    ~UnitRun();
    UnitRun(const UnitRun&) = delete;
    UnitRun& operator=(const UnitRun&) = delete;

    /// Runs the unit to its end; call once. Outcomes of the unit are in the
    /// result. Throws std::runtime_error / std::system_error when Podman or
    /// local I/O fails. Blocks until the unit has ended, which its timeout
    /// bounds.
    UnitResult run();

private:
    using Clock = std::chrono::steady_clock;

    void createVolume();
    /// False when the unit cannot run (result_.error says why); so start().
    bool createContainer();
    void copyInputs();
    /// False when the container's id mapping cannot be told.
    bool copyInputsDirectly();
    void copyInputsByArchive();
    void attach();
    bool start();
    /// Registers the container's init pid with the freeze switch.
    void watchFreeze();
    /// Freezes or thaws the unit as the switch says now.
    void followFreeze();
    /// Thaws a frozen unit before it is killed or stopped (a frozen process
    /// acts on no signal).
    void thawForEnd();
    void retryThaw(std::string_view why);
    void waitForExit();
    void waitOnStream(std::chrono::milliseconds slice);
    /// True once the container has exited.
    bool waitOnPodman(std::chrono::milliseconds slice);
    void checkBetweenSlices();
    void kill();
    void readExitCode();
    void readLogs();
    /// Stops a unit given back: SIGTERM, its grace, then SIGKILL.
    void stopGracefully();
    void collectOutputs();
    void collectCheckpoint();
    std::expected<std::vector<OutputFile>, wire::Error> outputsByArchive(const std::string& subdir);
    void explainFailure();
    void remove() noexcept;
    std::string containerPath(std::string_view suffix) const;

    PodmanClient& client_;
    const HostProfile& host_;
    const UnitSpec& spec_;
    const ContainerNames names_;
    UnitResult result_;

    bool volumeCreated_ = false;
    bool containerCreated_ = false;
    /// The volume's host directory, empty where this process cannot see it.
    std::filesystem::path volumeDir_;
    bool direct_ = false; ///< inputs (so outputs too) copied through volumeDir_
    std::uint64_t inputBytes_ = 0;

    /// Joined only after remove() (a member outlives the destructor's body).
    AttachStream attach_;
    bool streamOpen_ = false;
    Clock::time_point started_;
    /// The timeout, without the time frozen; set by start().
    std::optional<UnitDeadline> deadline_;
    ContainerFreezer freezer_;
    std::shared_ptr<const UnitProcesses> procs_; ///< the unit's processes, once started
    bool freezeBroken_ = false;                  ///< a freeze failed: not tried again
    bool thawOwed_ = false;                      ///< a thaw failed: tried again at each look
    Clock::time_point lastStateCheck_;
    std::string killReason_;        ///< "timeout", "cancelled", "given back" or the disk cap passed
    std::optional<int> waitedExit_; ///< the exit code /wait answered with
};

} // namespace swarm::sandbox

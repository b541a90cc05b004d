#pragma once

#include "wire/records.hpp"
#include "wire/trust_list.hpp"
#include "worker/worker_config.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::wire {
class Clock;
class Identity;
} // namespace swarm::wire
namespace swarm::sandbox {
class ContainerRuntime;
class ImageLedger;
} // namespace swarm::sandbox
namespace swarm::net {
class Credentials;
}
namespace swarm::dht {
class Announcer;
class Node;
} // namespace swarm::dht

namespace swarm::worker {

class ImageSource;
class SessionTable;

/// What the worker calls itself in its hello.
inline constexpr const char* kWorkerSoftware = "swarm-worker/0.1.0";

/// What the daemon is given by main(): borrowed objects must outlive it.
struct WorkerDeps {
    const wire::Identity& identity;
    wire::TrustList trust; ///< submitters we run work for
    sandbox::ContainerRuntime& runtime;
    const net::Credentials& credentials;
    dht::Node& node;
    const wire::Clock& clock;
    std::filesystem::path home; ///< swarm home (cache and scratch live here)
    ImageSource& images;        ///< where units' images come from
    wire::Isolation isolation;  ///< measured by the doctor
    std::string podmanVersion;
    bool rootless = false;
    /// Where this worker serves relay circuits (--relay), announced in its
    /// capacity record; empty if it does not.
    std::vector<std::string> relays = {};
    /// Every bootstrap node is on this host (net::isLocalSwarm): then what
    /// the DHT sees of us says nothing of reachability.
    bool localSwarm = false;
    /// The images this worker loaded (LedgerImages records them), and how
    /// to take one's name away; collected to the `[disk]` limits at start,
    /// every few minutes and after units end. Null: no images collected.
    sandbox::ImageLedger* imageLedger = nullptr;
    std::function<bool(const std::string& name)> removeImage = {};
};

struct UnitStatus {
    std::string submitter; ///< peer id
    std::string unit;      ///< "unitId/replica"
    std::int64_t elapsedMs = 0;
};

/// A snapshot for `swarm-worker status`.
struct WorkerStatus {
    std::string peerId;
    std::uint32_t slots = 0;
    std::vector<std::string> submitters; ///< connected now
    std::vector<UnitStatus> running;
    std::uint64_t done = 0;    ///< results delivered
    std::uint64_t failed = 0;  ///< units that could not be run or delivered
    std::uint64_t refused = 0; ///< messages from submitters the judge refused
    std::uint64_t cacheBytes = 0;
    std::uint64_t cacheLimit = 0;
    /// Results kept for submitters that were away (HeldResults).
    std::uint64_t heldCount = 0;
    std::uint64_t heldBytes = 0;
    /// What the worker holds on disk besides: images it loaded, and the
    /// volunteer's limits (WorkerConfig).
    std::uint64_t imageCount = 0;
    std::uint64_t imageBytes = 0;
    std::uint64_t imageLimit = 0;
    std::int64_t imageMaxAgeMs = 0;
    std::int64_t cacheMaxAgeMs = 0;
    std::uint64_t heldLimit = 0;
    std::uint64_t offersAccepted = 0;
    std::uint64_t offersRefused = 0;
    /// Where the DHT sees this host (net::describe): "reachable at A (...)",
    /// "behind NAT: the DHT sees this host at X, ...", "" while not known.
    std::string reach;
    bool stopping = false;
    /// Schedule::describe(): "always open", "open until ...", "closed until ...".
    std::string schedule;
    bool scheduleOpen = true;
    /// Suspension: why it is suspended ("" when not), e.g. "user until
    /// 16:42" or "busy (other processes at 83% > 50%)".
    bool suspended = false;
    std::string suspendedWhy;
    /// How running units are frozen (sandbox::describe(FreezeMethod)).
    std::string freezeMethod;
    /// `[idle]`: the CPU share of other processes last measured and the
    /// threshold (0: not watched) ...
    double otherCpuPercent = 0;
    std::uint32_t maxOtherCpu = 0;
    /// ... and the logind watch: "not watched", "watched (logind)" or
    /// "logind not available: user activity not watched".
    std::string userActivity;

    /// One JSON object (stable field names, see docs/user-guide.md).
    std::string json() const;
    /// A short table for people (status_text.cpp); lines end in '\n'.
    std::string text() const;
};

/// The volunteer daemon: announces capacity, accepts fresh offers from
/// trusted submitters in its inbox, dials out to them, and runs the units
/// they assign in the sandbox, at most `slots` units at once.
///
/// Threads: run()'s own (announces, joins ended sessions); one event loop
/// that owns every session's state and the slots (SessionTable); per
/// session a reader and a writer (SubmitterLink); one per running unit.
class Worker {
public:
    Worker(WorkerConfig config, WorkerDeps deps);
    /// Stops (see run()) if still running.
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Removes leftovers of a crashed run, announces, and serves until
    /// requestStop(). Then: stops taking work, tells each submitter which
    /// units it gives back, withdraws the DHT record, removes its
    /// containers, joins every thread. Blocks. Throws std::runtime_error if
    /// it cannot start (announce refused, cache unusable).
    void run();
    /// Asks run() to return. Thread-safe; not async-signal-safe (call it
    /// from a signal-watching thread).
    void requestStop();
    WorkerStatus status() const;
    /// The volunteer suspends the worker (`swarm-worker suspend`): for
    /// `forMs`, or until resume(). Takes effect at once (units freeze
    /// within a quarter second). Thread-safe. Returns the reasons now
    /// (Suspension::describe()).
    std::string suspend(std::optional<std::int64_t> forMs);
    /// Ends the volunteer's suspension; other reasons (busy, user active)
    /// stay. Thread-safe. Returns the reasons left ("" when running).
    std::string resume();

    struct State;
    struct Serving;

private:
    void serve(Serving& serving, dht::Announcer& announcer, wire::CapacityRecord& record);
    void shutDown(Serving& serving, dht::Announcer& announcer);
    void followSchedule(SessionTable& table) const;
    /// Measures what `[idle]` watches (on run()'s thread).
    void watchIdle();
    /// Freezes or thaws the units and opens or closes the table as the
    /// suspension says (on the loop).
    void followSuspension(SessionTable& table) const;
    void applySuspensionSoon();

    std::shared_ptr<State> state_;
};

} // namespace swarm::worker

#pragma once

#include "cli/relay_options.hpp"
#include "dht/bootstrap.hpp"
#include "dht/worker_table.hpp"
#include "submitter/diagnosis.hpp"
#include "submitter/job_spec.hpp"
#include "submitter/progress.hpp"
#include "submitter/reporter.hpp"
#include "submitter/stall_warning.hpp"
#include "wire/trust_list.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::base {
class Executor;
}
namespace swarm::wire {
class PeerId;
struct Offer;
} // namespace swarm::wire

namespace swarm::submitter {

class Batch;

/// Where and how a job runs; parsed once from the command line.
struct RunOptions {
    std::filesystem::path jobDir;
    std::string listenHost;       ///< where workers dial in; "" = every interface
    std::uint16_t listenPort = 0; ///< 0 = any free port
    /// Endpoints put into offers ("host:port"); empty = listenHost:port.
    std::vector<std::string> advertise;
    std::string swarm = "default";
    std::vector<dht::HostPort> bootstrap;
    std::string dhtAddress; ///< IPv4 to bind the DHT node to; "" = any
    std::uint16_t dhtPort = 0;
    bool lanDiscovery = false;
    bool json = false; ///< JSON-lines events on stdout
    /// Progress on stderr: redrawn on a terminal, now and then otherwise,
    /// none with --json.
    ProgressOutput progress = ProgressOutput::kNone;
    /// Relays to keep reservations on (--relay-via), whether or not this
    /// host looks reachable; relays workers announce are used behind NAT.
    std::vector<std::string> relayVia;
    cli::RelayOptions relay; ///< --relay: serve circuits for others
    /// --warn-after: how long without an assignment or a result before the
    /// run warns why it waits.
    std::int64_t warnAfterMs = 60'000;
};

/// Where the runner finds trusted workers and leaves them offers: the DHT in
/// a run (DhtSwarm), a fake in tests.
class SwarmAccess {
public:
    virtual ~SwarmAccess() = default;
    /// The trusted workers seen lately.
    virtual std::vector<dht::WorkerEntry> workers() const = 0;
    /// Leaves `offer` in `worker`'s inbox.
    virtual void postOffer(const wire::PeerId& worker, const wire::Offer& offer) = 0;
    /// What the DHT side knows, for the diagnosis; nothing by default.
    virtual SwarmHealth health() const { return {}; }
};

/// The control loop of one run: on a timer, it expires leases and offer
/// tokens, offers work to trusted workers without a session, and reports
/// progress; the sessions themselves run on the listener's threads
/// (WorkerSession). It owns nothing: run_command.cpp makes the batch, the
/// listener, the DHT node and the clock and hands them in.
///
/// Threads: tick() runs on `timer`; run() waits on the caller's thread.
class JobRunner {
public:
    /// Where workers reach the listener, put into each offer (asked anew
    /// each tick, as the DHT learns our public address and relays grant
    /// reservations). Empty: hold offers for now.
    using Endpoints = std::function<std::vector<std::string>()>;

    JobRunner(Batch& batch, SwarmAccess& swarm, base::Executor& timer, Endpoints endpoints);

    /// One step of the control loop at the batch clock's now. Returns true
    /// once the job is finished.
    bool tick();
    /// Ticks every 250 ms until the job is finished, `interrupted` or
    /// cancelled (Batch::cancel()), then gives the workers up to 2 s to hear
    /// bye from their sessions (5 s to answer a cancel). Throws
    /// what a tick threw (a journal that cannot be written).
    void run(const std::atomic<bool>& interrupted);
    /// The progress line's state now.
    ProgressState progress() const;
    /// From now on, every 2 s and when the run ends, writes why it waits to
    /// `jobDir`/why.json (Diagnosis), and warns on stderr (and as an event)
    /// once nothing progressed for `warnAfterMs`. Call before run().
    void diagnoseInto(std::filesystem::path jobDir, std::int64_t warnAfterMs);

private:
    void offerWork(std::int64_t nowMs);
    void diagnose(std::int64_t nowMs);
    void warnIfNoneMet(bool anyMet, std::int64_t nowMs);

    Batch& batch_;
    SwarmAccess& swarm_;
    base::Executor& timer_;
    const Endpoints endpoints_;
    std::int64_t startedMs_ = 0;
    std::size_t decidedAtStart_ = 0;
    /// Workers that do not meet the job's requirements, with the reason
    /// last logged (each is logged when it first shows or changes).
    std::map<std::string, std::string> unmet_;
    bool warnedUnmet_ = false;
    std::vector<std::string> found_; // trusted workers with slots, last tick
    Diagnosis diagnosis_;
    std::optional<std::filesystem::path> diagnosisDir_;
    std::optional<StallWarning> stall_;
    std::int64_t lastDiagnosisMs_ = 0;
};

} // namespace swarm::submitter

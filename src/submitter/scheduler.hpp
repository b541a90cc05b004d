#pragma once

#include "submitter/replica_report.hpp"
#include "submitter/replication_policy.hpp"
#include "submitter/scheduler_store.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace swarm::wire {
class Clock;
}

namespace swarm::submitter {

/// One replica handed to one worker: what the caller turns into wire::Assign
/// (or wire::Cancel when it comes back in Effects::cancelled).
struct Assignment {
    std::string unitId;
    std::uint32_t replica = 0;
    WorkerId worker;
    std::int64_t leaseExpiresMs = 0;
    bool operator==(const Assignment&) const = default;
};

/// What an event did besides issuing work. The caller sends a wire::Cancel
/// for each `cancelled` replica whose worker is still connected, and reports
/// `validated` / `failed` units (write their results, emit events).
struct Effects {
    std::vector<Assignment> cancelled;  ///< in-flight replicas no longer wanted
    std::vector<ReplicaRecord> ended;   ///< replicas that ended as errors in this event
    std::vector<std::string> validated; ///< units that became valid
    std::vector<std::string> failed;    ///< units that failed
    std::string ignored;                ///< reportResult only: why the result was dropped
};

/// Counts for the progress line and status.
struct SchedulerCounts {
    std::size_t total = 0;
    std::size_t valid = 0;
    std::size_t failed = 0;
    std::size_t running = 0; ///< pending units with a replica in flight
    std::size_t inFlightReplicas = 0;
    std::size_t workersConnected = 0;
};

/// BOINC-style replication and validation, as pure logic. It does no I/O:
/// the caller feeds it events (worker connected / asked for work / sent a
/// result / said bye / disconnected, and time passing) and acts on what it
/// returns. Time comes from the injected clock.
///
/// Rules:
/// - each unit gets R replicas up front, on distinct workers. A worker never
///   gets a second replica of a unit it already held, even after a reissue;
///   the one exception is a replica abandoned by a crashed submitter run,
///   which that worker never finished (otherwise a resumed run with as few
///   workers as R could never complete such a unit).
/// - each replica has a lease (policy.leaseMs); on expiry, disconnect or an
///   error report it ends and a new replica is issued while budgets allow.
/// - a unit is valid when some digest has at least Q votes and those votes are
///   a strict majority of all successful results received. Until then enough
///   replicas are kept in flight to make that possible; extra replicas are
///   issued after a disagreement.
/// - a unit fails when it has more than maxErrors errors, or when
///   maxTotalResults replicas were issued (give-backs excluded), none is still
///   running and it is not valid. The reason names the errors and the votes.
/// - a clean Bye gives replicas back without counting them as errors; so
///   does a give-back of one replica (giveBack()), which may carry a
///   checkpoint for the next replica. A worker may take a unit it gave back
///   again.
/// - a replica the worker refused by a rule of its own (ReplicaReport::refused)
///   ends kRefused: not an error, but issued (max_total_results), and that
///   worker is not given the unit again.
///
/// Durability: every event's changes go to `store.commit()` as one batch
/// before the method returns, so the caller only ever acts on committed state.
/// Results for replicas that already ended are ignored (cancelled, given
/// back, unknown, decided units), except a late vote (reportResult()).
///
/// Not thread-safe: owned by the submitter's event loop.
class Scheduler {
public:
    /// `unitIds` in job order (work is handed out in this order). The clock
    /// and store are borrowed and must outlive the scheduler.
    Scheduler(ReplicationPolicy policy, std::vector<std::string> unitIds, const wire::Clock& clock,
              SchedulerStore& store);

    /// Rebuilds state from a journal snapshot. A replica that was in flight
    /// and whose lease has not run out stays in flight, held by its worker,
    /// which may still send its result (it keeps results while the
    /// submitter is away); if its lease runs out before that worker
    /// connects to this run, it ends kAbandoned. One whose lease ran out
    /// becomes kAbandoned at once (they count against max_total_results,
    /// not max_errors). Units are then re-settled (some may fail on
    /// budget). The changes are committed. Call once, before any other
    /// event. Records for unknown units are ignored.
    Effects restore(const Snapshot& snapshot);

    /// A worker authenticated. Only affects counts.
    void workerConnected(const WorkerId& worker);

    /// The worker asks for up to `slots` replicas. Returns the replicas
    /// issued to it (possibly none), already committed.
    std::vector<Assignment> requestWork(const WorkerId& worker, std::uint32_t slots);

    /// True if requestWork(worker, 1) would issue a replica now.
    bool hasWorkFor(const WorkerId& worker) const;

    /// The worker reports the outcome of one replica: one it holds in
    /// flight, or a late one (it ended lost, expired or abandoned, and the
    /// worker holds no other replica of the unit that votes) while the unit
    /// is pending. Anything else is ignored (Effects::ignored says why).
    Effects reportResult(const WorkerId& worker, std::string_view unitId, std::uint32_t replica,
                         const ReplicaReport& report);

    /// The worker says a replica still runs. True: it holds it in flight,
    /// and its lease now lasts at least policy.leaseMs from now (committed).
    /// False: it does not (decided, cancelled, given back, another worker's,
    /// unknown): tell it to cancel the replica.
    bool reportProgress(const WorkerId& worker, std::string_view unitId, std::uint32_t replica);

    /// The worker said Bye: the listed replicas are given back (no error);
    /// any other replica it still held counts as lost (an error).
    Effects workerBye(const WorkerId& worker,
                      const std::vector<std::pair<std::string, std::uint32_t>>& givenBack);

    /// The worker gives back one replica it holds in flight (it stops, or
    /// its schedule window closed), with the unit's checkpoint files
    /// ("ckpt/..."; may be none): the replica ends kGivenBack (no error, not
    /// issued) keeping them as its outputs, `why` (the worker's note, may
    /// be empty) its reason. Anything else is ignored (Effects::ignored).
    Effects giveBack(const WorkerId& worker, std::string_view unitId, std::uint32_t replica,
                     std::vector<OutputFile> checkpoint, std::string_view why);

    /// The checkpoint replica `replica` of the unit starts from: the files
    /// of the given-back replica chosen when it was issued (the newest one
    /// no replica that could vote already rests on). Empty when there is
    /// none.
    std::vector<OutputFile> checkpointOf(std::string_view unitId, std::uint32_t replica) const;

    /// The worker's connection dropped: its in-flight replicas are lost.
    Effects workerDisconnected(const WorkerId& worker);

    /// Ends every replica whose lease is at or before now. The expired
    /// replicas are in Effects::ended (tell their workers to cancel them).
    Effects expireLeases();

    /// The researcher cancelled the job: every replica in flight ends given
    /// back with reason kResearcherCancel (neither an error nor counted
    /// against max_total_results) and is listed in Effects::cancelled, for
    /// the caller to send its worker a wire::Cancel. A worker may take such
    /// a unit again. The caller stops handing out work.
    Effects cancelAll();

    /// Earliest lease expiry of any in-flight replica: when to call
    /// expireLeases() next. nullopt when nothing is in flight.
    std::optional<std::int64_t> nextLeaseExpiry() const;

    /// Pending units that want another replica but that no connected worker
    /// may take (each already held one): the run cannot finish them until a
    /// new worker connects. For a "waiting for more workers" hint.
    std::size_t blockedUnits() const;

    /// True when every unit is valid or failed.
    bool finished() const noexcept { return decided_ == units_.size(); }
    SchedulerCounts counts() const;

    /// The unit's record; nullptr for an unknown id.
    const UnitRecord* unit(std::string_view unitId) const;
    /// The unit's replicas in issue order (empty for an unknown id).
    const std::vector<ReplicaRecord>& replicas(std::string_view unitId) const;
    /// Unit ids in job order.
    std::vector<std::string> unitIds() const;
    /// A copy of all state (units in job order, then their replicas): for
    /// summary.json and status.
    Snapshot snapshot() const;

private:
    struct Slot {
        UnitRecord rec;
        std::vector<ReplicaRecord> replicas;
    };

    // The single place that decides how many replicas a unit wants up front:
    // the hook for adaptive replication (a trusted worker with a long record
    // of valid results could make this 1 at random), not built yet.
    std::uint32_t initialReplicas(const Slot& slot) const;

    bool eligible(const Slot& slot, const WorkerId& worker) const;
    std::optional<std::uint32_t> checkpointFor(const Slot& slot, const WorkerId& worker) const;
    std::uint32_t wantedNew(const Slot& slot) const;
    void endReplica(std::size_t unit, std::uint32_t replica, ReplicaState state, std::string reason,
                    StateBatch& batch, Effects& effects);
    void settle(std::size_t unit, StateBatch& batch, Effects& effects);
    /// Ends every replica `worker` holds (given back when in `givenBack`,
    /// else lost for `lostReason`), settles their units and forgets it.
    Effects releaseWorker(const WorkerId& worker,
                          const std::set<std::pair<std::size_t, std::uint32_t>>& givenBack,
                          std::string_view lostReason);
    void refreshNeed(std::size_t unit);
    void holdRestored(std::size_t unit, ReplicaRecord& r, StateBatch& batch);
    bool lateVoteAllowed(const Slot& slot, const WorkerId& worker, std::uint32_t replica) const;
    void commit(StateBatch& batch);

    ReplicationPolicy policy_;
    const wire::Clock& clock_;
    SchedulerStore& store_;
    std::vector<Slot> units_;
    std::unordered_map<std::string, std::size_t> index_;
    std::set<std::size_t> needy_; // pending units that want more replicas issued
    std::set<std::tuple<std::int64_t, std::size_t, std::uint32_t>> leases_;
    std::map<WorkerId, std::set<std::pair<std::size_t, std::uint32_t>>> held_;
    std::set<WorkerId> connected_;
    std::set<WorkerId> seen_; // connected at some point of this run
    // Restored in flight, not yet confirmed by its worker (a progress or a
    // result): the time by which it must be, once its worker connected
    // (0 until then). Past it, the worker came back without it.
    std::map<std::pair<std::size_t, std::uint32_t>, std::int64_t> unconfirmed_;
    std::size_t decided_ = 0;
};

/// Parses Bye::givenBack entries ("unitId/replica"); malformed entries are
/// skipped.
std::vector<std::pair<std::string, std::uint32_t>>
parseGivenBack(const std::vector<std::string>& entries);

} // namespace swarm::submitter

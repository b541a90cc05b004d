#pragma once

#include "wire/digest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

/// A worker's name in the scheduler and the journal: its PeerId text form.
using WorkerId = std::string;

/// Where a unit stands. kPending covers "waiting for replicas" and "replicas
/// running"; kValid and kFailed are final.
enum class UnitState { kPending, kValid, kFailed };

/// Where one replica (one copy of a unit handed to one worker) stands.
enum class ReplicaState {
    kInFlight,  ///< assigned, lease running
    kSucceeded, ///< ran to completion; has a digest (a vote)
    kErrored,   ///< the worker reported it could not run it (or it timed out)
    kExpired,   ///< lease ran out
    kLost,      ///< the worker disconnected without giving it back
    kGivenBack, ///< the worker gave it back on a clean Bye: not an error
    kAbandoned, ///< in flight when the submitter itself died: not an error
    kCancelled, ///< the unit was decided while this replica was still running
    /// the worker refused it before running it, by a rule of its own (image
    /// policy, memory, timeout): not an error; that worker is not asked again
    kRefused,
};

/// The reason of a replica the researcher cancelled (`swarm-submit cancel`,
/// Ctrl-C twice): it ends given back, and its worker may take the unit again.
inline constexpr std::string_view kResearcherCancel = "cancelled by the researcher";

/// Stable lower-case names ("pending", "in-flight", ...) used in the journal,
/// summary.json and JSON events.
std::string_view stateName(UnitState state) noexcept;
std::string_view stateName(ReplicaState state) noexcept;
/// Inverse of stateName; nullopt for an unknown name.
std::optional<UnitState> parseUnitState(std::string_view name) noexcept;
std::optional<ReplicaState> parseReplicaState(std::string_view name) noexcept;

/// True for the replica states that count against max_errors.
bool countsAsError(ReplicaState state) noexcept;
/// True for the replica states that count against max_total_results: every
/// issued replica except the ones a worker gave back.
bool countsAsIssued(ReplicaState state) noexcept;

/// One output file of a replica as the worker described it.
struct OutputFile {
    std::string name; ///< relative path inside the unit's work dir ("stdout", "out/x")
    wire::Digest digest;
    std::uint64_t size = 0;
    /// stdout/stderr only: the worker's log capture dropped bytes past its
    /// cap, so this is a prefix of what the unit wrote (never in the digest).
    bool truncated = false;
    bool operator==(const OutputFile&) const = default;
};

/// The persisted state of one replica. `replica` numbers are per unit,
/// 0-based, never reused.
struct ReplicaRecord {
    std::string unitId;
    std::uint32_t replica = 0;
    WorkerId worker;
    ReplicaState state = ReplicaState::kInFlight;
    std::int64_t issuedMs = 0;
    std::int64_t leaseExpiresMs = 0;
    std::int32_t exitCode = -1;
    std::optional<wire::Digest> digest; ///< set iff state == kSucceeded
    /// As reported: every output of a success; stdout and stderr (those that
    /// arrived) of an error report.
    std::vector<OutputFile> outputs;
    std::string reason; ///< why it ended badly, for humans
    /// The given-back replica of the same unit whose checkpoint it started
    /// from, if any: its result rests on that replica's worker too.
    std::optional<std::uint32_t> resumedFrom;
};

/// The persisted state of one unit. Budgets are derived from its replicas.
struct UnitRecord {
    std::string id;
    UnitState state = UnitState::kPending;
    std::optional<wire::Digest> digest;           ///< the accepted digest (kValid)
    std::optional<std::uint32_t> acceptedReplica; ///< whose outputs are kept (kValid)
    std::vector<WorkerId> agreed;                 ///< workers whose digest matched (kValid)
    std::string reason;                           ///< why it failed (kFailed)
};

/// Every state change one scheduler event produced, to be committed as one
/// transaction. Records are complete rows (upserts), never deltas.
struct StateBatch {
    std::vector<UnitRecord> units;
    std::vector<ReplicaRecord> replicas;
    bool empty() const noexcept { return units.empty() && replicas.empty(); }
};

/// Everything needed to rebuild a scheduler: what a journal loads.
struct Snapshot {
    std::vector<UnitRecord> units;
    std::vector<ReplicaRecord> replicas;
};

/// Durable storage for the scheduler's state. The scheduler calls commit()
/// with the batch of one event *before* it returns the resulting actions to
/// its caller, so nothing is acted on that is not yet durable. commit() must
/// either make the whole batch durable or throw (std::system_error); after a
/// throw the scheduler's in-memory state is ahead of the store and the
/// process should stop (a restart resumes from the store).
class SchedulerStore {
public:
    virtual ~SchedulerStore() = default;
    virtual void commit(const StateBatch& batch) = 0;
};

/// A store that keeps nothing: for tests and dry runs.
class NullStore final : public SchedulerStore {
public:
    void commit(const StateBatch&) override {}
};

} // namespace swarm::submitter

#pragma once

#include "submitter/replication_policy.hpp"
#include "submitter/scheduler.hpp"
#include "submitter/scheduler_store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::submitter {

/// What the progress line shows. Pure data; build it from
/// Scheduler::counts() and the clock.
struct ProgressState {
    std::size_t total = 0;
    std::size_t valid = 0;
    std::size_t failed = 0;
    std::size_t running = 0;
    std::size_t workers = 0;
    std::int64_t startedMs = 0; ///< when this run (not the job) started
    std::int64_t nowMs = 0;
    std::size_t decidedAtStart = 0; ///< units already decided when this run started (resume)
};

/// Estimated milliseconds until every unit is decided, from this run's
/// rate; nullopt until this run has decided a unit.
std::optional<std::int64_t> etaMs(const ProgressState& p);

/// "1h02m", "4m05s", "12s".
std::string formatDuration(std::int64_t ms);

/// The terminal progress line (no newline, no escape codes), at most
/// `width` columns, e.g.
/// "[#######.............]  14/40 done  3 running  1 failed  3 workers  ETA 2m05s".
/// The bar is dropped first when space is short.
std::string progressLine(const ProgressState& p, std::size_t width = 80);

/// The line a run prints now and then when stderr is not a terminal (no
/// newline, no bar, no escape codes), e.g.
/// "progress: 14/40 done  3 running  1 failed  3 workers  ETA 1m40s  elapsed 1m00s".
std::string plainProgressLine(const ProgressState& p);

/// The text `swarm-submit status DIR` prints, from a journal snapshot:
/// "job NAME: V valid, F failed, P pending of N units (I replicas in
/// flight)", then one line per failed unit with its reason. Ends with a
/// newline.
std::string statusReport(std::string_view job, const Snapshot& state);

/// JSON-lines events for --json: one object per line (no newline
/// included). Every event has "event" (its name) and "time_ms" first; field
/// names are stable: units are "unit", workers "worker", digests
/// "sha256:<hex>" strings.
namespace event {

/// {"event":"job-started","time_ms","job","units","replicas","quorum","resumed"}
std::string jobStarted(std::int64_t timeMs, std::string_view job, std::size_t units,
                       const ReplicationPolicy& policy, bool resumed);
/// {"event":"offer-posted","time_ms","worker"}: an offer to dial in was put
/// into the worker's DHT inbox.
std::string offerPosted(std::int64_t timeMs, const WorkerId& worker);
/// {"event":"worker-connected","time_ms","worker"}
/// `path`: "direct" or "relayed"; `address`: the peer's, or the relay's.
std::string workerConnected(std::int64_t timeMs, const WorkerId& worker, std::string_view path,
                            std::string_view address);
/// {"event":"worker-disconnected","time_ms","worker","reason"}
std::string workerDisconnected(std::int64_t timeMs, const WorkerId& worker,
                               std::string_view reason);
/// {"event":"replica-assigned","time_ms","unit","replica","worker","lease_expires_ms"}
/// A message from `worker` that the judge refused (wire/judge.hpp).
std::string messageRefused(std::int64_t timeMs, const WorkerId& worker, std::string_view type,
                           std::string_view reason);
std::string replicaAssigned(std::int64_t timeMs, const Assignment& a);
/// {"event":"inputs-sent","time_ms","unit","replica","worker"}: the worker
/// asked for the replica's inputs and has been sent them (not emitted when it
/// had them all cached).
std::string inputsSent(std::int64_t timeMs, const Assignment& a);
/// {"event":"result-received","time_ms","unit","replica","worker","wall_ms"}:
/// a worker's result message arrived, before its outputs; wall_ms is the
/// worker's own figure for the container, start to exit.
std::string resultReceived(std::int64_t timeMs, std::string_view unit, std::uint32_t replica,
                           const WorkerId& worker, std::int64_t wallMs);
/// {"event":"replica-ended","time_ms","unit","replica","worker","state","exit_code","digest","reason"}
/// (digest only for succeeded replicas, reason only when non-empty)
std::string replicaEnded(std::int64_t timeMs, const ReplicaRecord& r);
/// {"event":"unit-valid","time_ms","unit","digest","agreed":[workers]}
std::string unitValid(std::int64_t timeMs, const UnitRecord& u);
/// {"event":"unit-failed","time_ms","unit","reason"}
std::string unitFailed(std::int64_t timeMs, const UnitRecord& u);
/// {"event":"warning","time_ms","message"}: something the user should know
/// that changes no state (a result ignored, a result directory not written).
std::string warning(std::int64_t timeMs, std::string_view message);
/// {"event":"job-cancelled","time_ms","replicas","workers"}: the researcher
/// cancelled the job; `replicas` in flight were stopped on `workers`.
std::string jobCancelled(std::int64_t timeMs, std::size_t replicas, std::size_t workers);
/// {"event":"progress","time_ms","total","valid","failed","running","workers","eta_ms"|null}
std::string progress(const ProgressState& p);
/// {"event":"job-finished","time_ms","total","valid","failed","results","ok"}
std::string jobFinished(std::int64_t timeMs, std::size_t total, std::size_t valid,
                        std::size_t failed, std::string_view resultsDir);

} // namespace event

} // namespace swarm::submitter

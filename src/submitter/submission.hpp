#pragma once

#include "submitter/input_catalog.hpp"
#include "submitter/job_spec.hpp"
#include "submitter/journal.hpp"
#include "submitter/progress.hpp"
#include "submitter/result_store.hpp"
#include "submitter/scheduler.hpp"
#include "wire/error.hpp"
#include "wire/messages.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace swarm::wire {
class Clock;
}

namespace swarm::submitter {

/// Receives each JSON-lines event (one object, no newline). Called on the
/// thread that drives the Submission.
using EventSink = std::function<void(const std::string& jsonLine)>;

/// A message for one worker.
struct ToWorker {
    WorkerId worker;
    wire::Cancel cancel;
};

/// One job run, without any network: the job, its journal, scheduler,
/// input catalog and result store, tied together so that the program only
/// translates stream messages into calls here and sends back what they
/// return. Every method commits to the journal before it returns.
///
/// The order the network side must keep for a Result: first fetch the
/// blobs missingOutputs() names (NeedBlobs / BlobChunk into
/// results().blobDir()), then call result(). A result is never counted
/// before its outputs are safely on local disk, so a valid unit can always
/// be written out, and agreeing replicas cost no second transfer.
///
/// Not thread-safe: owned by the submitter's event loop thread.
class Submission {
public:
    /// Opens the job directory `dir`. With no journal there, `job` is
    /// required and a new run is created. With a journal, the run resumes
    /// from it; if `job` is given too it must describe the same job
    /// (kInvalidArgument otherwise: a different job in that directory).
    /// Hashes every input; writes result dirs a crashed run had not written
    /// yet. Throws std::system_error for local I/O failures (including a
    /// directory held by another run, EBUSY). `clock` must outlive it.
    static std::expected<std::unique_ptr<Submission>, wire::Error>
    open(const std::filesystem::path& dir, const std::optional<JobSpec>& job,
         const wire::Clock& clock, EventSink events);

    ~Submission();

    bool resumed() const noexcept { return resumed_; }
    const JobSpec& job() const noexcept { return job_; }
    const InputCatalog& inputs() const noexcept { return *inputs_; }
    ResultStore& results() noexcept { return results_; }
    const Scheduler& scheduler() const noexcept { return *scheduler_; }

    /// A worker authenticated (emits worker-connected).
    void workerConnected(const WorkerId& worker);

    /// The worker asks for up to `slots` units: the Assign messages to send.
    std::vector<wire::Assign> requestWork(const WorkerId& worker, std::uint32_t slots);

    /// The outputs of `result` that are not in the blob store yet (distinct
    /// digests). Empty for a result that will count as an error anyway
    /// (worker error, timeout, unsafe names): nothing to fetch.
    std::vector<wire::FileRef> missingOutputs(const wire::Result& result) const;

    /// Records a result whose outputs are all stored. Writes the result
    /// directory of a unit that becomes valid. Returns Cancels to send for
    /// replicas no longer wanted.
    std::vector<ToWorker> result(const WorkerId& worker, const wire::Result& result);

    /// The worker said Bye (its given-back replicas are reissued, not
    /// counted as errors).
    std::vector<ToWorker> workerBye(const WorkerId& worker, const wire::Bye& bye);

    /// The worker's stream closed or failed.
    std::vector<ToWorker> workerDisconnected(const WorkerId& worker, std::string_view reason);

    /// Expires leases that are due (their workers are told to cancel).
    /// Call at nextDeadline() and whenever convenient.
    std::vector<ToWorker> tick();

    /// When tick() next has something to do; nullopt: nothing in flight.
    std::optional<std::int64_t> nextDeadline() const { return scheduler_->nextLeaseExpiry(); }

    bool finished() const noexcept { return scheduler_->finished(); }
    /// For the progress line and the "progress" event.
    ProgressState progress() const;

    /// Writes summary.json and emits job-finished. Returns the exit status:
    /// 0 only if every unit is valid.
    int finish();

private:
    Submission(const std::filesystem::path& dir, JobSpec job, Journal journal,
               const wire::Clock& clock, EventSink events, bool resumed);
    void apply(const Effects& effects, std::vector<ToWorker>& out, bool cancelExpired);
    void emit(const std::string& line) {
        if (events_)
            events_(line);
    }

    JobSpec job_;
    std::map<std::string, std::size_t> unitIndex_;
    Journal journal_;
    const wire::Clock& clock_;
    EventSink events_;
    bool resumed_;
    ResultStore results_;
    std::unique_ptr<InputCatalog> inputs_;
    std::unique_ptr<Scheduler> scheduler_;
    std::set<WorkerId> connected_;
    std::int64_t startedMs_ = 0;
    std::size_t decidedAtStart_ = 0;
};

} // namespace swarm::submitter

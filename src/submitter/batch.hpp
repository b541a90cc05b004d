#pragma once

#include "net/blob_store.hpp"
#include "submitter/job_spec.hpp"
#include "submitter/log_follows.hpp"
#include "submitter/offer_book.hpp"
#include "submitter/progress.hpp"
#include "submitter/replica_report.hpp"
#include "submitter/result_store.hpp"
#include "submitter/scheduler.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace swarm::wire {
class Clock;
struct PublicKey;
} // namespace swarm::wire

namespace swarm::submitter {

class InputCatalog;
class Journal;
class Reporter;

/// What a worker's session is owed now (Batch::owed()).
struct Owed {
    bool finished = false;             ///< the job is: say bye
    std::vector<wire::Assign> assigns; ///< for its demand
    std::vector<Assignment> assigned;  ///< the same, as the scheduler issued them
    std::vector<wire::Cancel> cancels; ///< replicas it should stop
    bool workReady = false;            ///< it was idle and there is work again
};

/// What a cancel stopped: the replicas that were in flight, on how many
/// workers.
struct CancelTally {
    std::size_t replicas = 0;
    std::size_t workers = 0;
};
/// "cancelled: N replicas stopped on M workers", as `cancel` and the run
/// print it.
std::string cancelMessage(const CancelTally& tally);
/// What the diagnosis needs of a batch at one moment (Batch::view()).
struct BatchView {
    Snapshot snapshot;
    std::set<WorkerId> connectedNow;
    std::set<WorkerId> connectedEver; ///< had a session in this run
    std::size_t blockedUnits = 0;     ///< Scheduler::blockedUnits()
    bool finished = false;
};

/// One batch as every part of a run shares it: the job, its journal, the
/// scheduler, the result files, the blob store the sessions serve inputs
/// from and receive outputs into, the offer tokens, and which workers are
/// connected. Every scheduling decision is committed to the journal before
/// it is acted on. Thread-safe: one mutex; the blob store and the result
/// store are safe on their own.
class Batch {
public:
    Batch(JobSpec job, Journal& journal, const std::filesystem::path& jobDir,
          const wire::Clock& clock, Reporter& reporter);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    /// Hashes the inputs once into the blob store and restores the
    /// scheduler from the journal. Throws std::runtime_error if an input
    /// cannot be read or changed since results were accepted.
    void prepare();

    const JobSpec& job() const noexcept { return job_; }
    /// The journal's batch id, put in every offer (Journal::batchId()).
    const std::string& batchId() const noexcept { return batchId_; }
    const wire::Clock& clock() const noexcept { return clock_; }
    Reporter& reporter() noexcept { return reporter_; }
    net::BlobStore& blobs() noexcept { return blobs_; }
    /// Who follows which running replica's output (logs --follow).
    LogFollows& follows() noexcept { return follows_; }

    /// Issues an offer token for a trusted worker we have no session with;
    /// nullopt if it has one, or holds a live token.
    std::optional<OfferBook::Token> offerTo(const std::string& wid, const wire::PublicKey& key,
                                            std::int64_t nowMs);
    /// Spends the token a dialing worker presents.
    std::expected<void, std::string> redeem(const OfferBook::Token& token,
                                            const wire::PublicKey& key);
    /// A worker's session starts, over `path` ("direct", "relayed") from
    /// `address`; false if it has one already.
    bool connect(const WorkerId& wid, const std::string& path, const std::string& address);
    /// Its session ended; `replicasLost`: its replicas are reissued (it left
    /// without a bye, or the job was over).
    void disconnect(const WorkerId& wid, bool replicasLost, const std::string& reason = {});

    /// Replicas for up to `demand` slots of `wid`, the cancels it is owed,
    /// and whether an idle worker has work again.
    Owed owed(const WorkerId& wid, std::uint32_t demand, bool idle);
    void workerBye(const WorkerId& wid, const std::vector<std::string>& givenBack);
    void reportResult(const WorkerId& wid, const std::string& unitId, std::uint32_t replica,
                      const ReplicaReport& report);
    /// `wid` gives back one replica (wire::Result::givenBack) with the
    /// checkpoint files that arrived (Scheduler::giveBack()); the unit's
    /// next replica gets them as inputs "ckpt/...". `why`: the worker's note.
    void giveBack(const WorkerId& wid, const std::string& unitId, std::uint32_t replica,
                  std::vector<OutputFile> checkpoint, const std::string& why);
    /// A replica `wid` says still runs: its lease is extended, or, if `wid`
    /// does not hold it in flight, a cancel for it is owed.
    void reportProgress(const WorkerId& wid, const wire::Progress& progress);

    /// The researcher cancels the job (`swarm-submit cancel`, Ctrl-C
    /// twice): every replica in flight is given back (Scheduler::cancelAll),
    /// its worker is owed a wire::Cancel, the journal records the cancel, and
    /// no more work is handed out. nullopt when the job is already finished.
    /// A second call changes nothing and returns the first tally.
    std::optional<CancelTally> cancel();
    bool cancelled() const;
    /// The run is stopping: no more work is handed out (cancels still are).
    void holdWork();
    /// Waits up to `timeout` for the workers to answer the cancels (a
    /// result for each cancelled replica, or the end of their session);
    /// true if they all did.
    bool waitForCancelAnswers(std::chrono::milliseconds timeout);

    /// Leases and offer tokens that ran out at `nowMs`; true once the job is
    /// finished.
    bool expire(std::int64_t nowMs);
    bool finished() const;
    SchedulerCounts counts() const;
    std::size_t workers() const;
    /// A copy of the state the diagnosis reads.
    BatchView view() const;
    /// Waits up to `timeout` for every worker session to end.
    void waitForNoWorkers(std::chrono::milliseconds timeout);
    /// Writes the summary and prints the report; the exit status of a run
    /// (0 all valid, 1 some failed, 130 not finished).
    int finish();

private:
    void apply(const Effects& fx);

    JobSpec job_;
    Journal& journal_;
    std::filesystem::path jobDir_;
    std::string batchId_;
    const wire::Clock& clock_;
    Reporter& reporter_;
    ResultStore results_;
    net::BlobStore blobs_; // inputs we serve and outputs we receive, one store
    LogFollows follows_;

    mutable std::mutex mutex_; // guards everything below
    std::condition_variable sessionEnded_;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<InputCatalog> catalog_;
    std::map<std::string, const UnitSpec*> units_;
    OfferBook offers_;
    std::set<WorkerId> sessions_;
    std::vector<SessionRecord> sessionLog_;       // for the summary, the newest kSessionLog
    std::map<WorkerId, std::size_t> openSession_; // index into sessionLog_
    std::map<WorkerId, std::vector<wire::Cancel>> cancels_;
    std::optional<CancelTally> cancelled_;
    bool holding_ = false; // holdWork()
    // Replicas the researcher cancelled whose workers have not answered yet.
    std::set<std::tuple<WorkerId, std::string, std::uint32_t>> unanswered_;
    std::condition_variable answered_;
};

} // namespace swarm::submitter

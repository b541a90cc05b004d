#pragma once

#include "net/blob_store.hpp"
#include "submitter/job_spec.hpp"
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
    /// A replica `wid` says still runs: its lease is extended, or, if `wid`
    /// does not hold it in flight, a cancel for it is owed.
    void reportProgress(const WorkerId& wid, const wire::Progress& progress);

    /// Leases and offer tokens that ran out at `nowMs`; true once the job is
    /// finished.
    bool expire(std::int64_t nowMs);
    bool finished() const;
    SchedulerCounts counts() const;
    std::size_t workers() const;
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
};

} // namespace swarm::submitter

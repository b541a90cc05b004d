#include "submitter/batch.hpp"

#include "net/blob_transfer.hpp"
#include "submitter/input_catalog.hpp"
#include "submitter/journal.hpp"
#include "submitter/reporter.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");

// A unit's checkpoint, as extra inputs below in/ckpt/. A file whose name
// an input of the unit already has is left out (the judge refuses a name
// listed twice).
void addCheckpoint(wire::Assign& a, const std::vector<OutputFile>& checkpoint) {
    for (const auto& f : checkpoint) {
        const bool taken = std::any_of(a.inputs.begin(), a.inputs.end(),
                                       [&](const wire::FileRef& in) { return in.name == f.name; });
        if (taken || a.inputs.size() >= wire::limits::kInputs) {
            kLog.warn("checkpoint file {} of {} not passed on: {}", f.name, a.unitId,
                      taken ? "an input has that name" : "too many inputs");
            continue;
        }
        a.inputs.push_back(wire::FileRef{f.name, f.digest.bytes, f.size});
    }
}
} // namespace

std::string cancelMessage(const CancelTally& tally) {
    return fmt::format("cancelled: {} replica{} stopped on {} worker{}", tally.replicas,
                       tally.replicas == 1 ? "" : "s", tally.workers,
                       tally.workers == 1 ? "" : "s");
}

Batch::Batch(JobSpec job, Journal& journal, const std::filesystem::path& jobDir,
             const wire::Clock& clock, Reporter& reporter)
    : job_(std::move(job)), journal_(journal), jobDir_(jobDir), batchId_(journal.batchId()),
      clock_(clock), reporter_(reporter), results_(jobDir),
      blobs_(results_.blobDir(),
             net::BlobStoreOptions{.maxBytes = std::uint64_t{1} << 62, .fsync = true}, clock) {}

Batch::~Batch() = default;

void Batch::prepare() {
    // Each input is read once: copied into the blob store the sessions
    // serve from, hashed as it is copied; units refer to it by digest.
    catalog_ = std::make_unique<InputCatalog>(job_, [this](const std::filesystem::path& path) {
        auto d = blobs_.putFile(path);
        auto size = d ? blobs_.sizeOf(*d) : std::nullopt;
        if (!size)
            throw std::runtime_error("cannot read input " + path.string() + ": " +
                                     (d ? "not stored" : net::describe(d.error())));
        wire::FileRef ref;
        ref.digest = d->bytes;
        ref.size = *size;
        return ref;
    });
    // Results already accepted were computed from the inputs as they were
    // when the job started: a resumed run refuses to mix in changed files.
    const auto listing = inputListing(job_, *catalog_);
    const auto recorded = journal_.inputListing();
    if (recorded.empty())
        journal_.recordInputListing(listing);
    else if (auto change = describeInputChange(recorded, listing))
        throw std::runtime_error(*change +
                                 ": results so far were computed from the old content; restore "
                                 "it, or start a new job in another --out directory");
    std::vector<std::string> ids;
    for (const auto& unit : job_.units) {
        ids.push_back(unit.id);
        units_[unit.id] = &unit;
    }
    scheduler_ = std::make_unique<Scheduler>(job_.policy, ids, clock_, journal_);
    std::lock_guard lock(mutex_);
    auto snapshot = journal_.load();
    apply(scheduler_->restore(snapshot));
    // A resumed run restores results of units validated before, should the
    // crash have come between the journal and the result files.
    for (const auto& [unit, err] : results_.writeMissingUnits(snapshot))
        kLog.error("cannot restore the results of {}: {}", unit, err.what);
}

// Acts on what a scheduler event decided. Called with `mutex_` held.
void Batch::apply(const Effects& fx) {
    auto now = clock_.nowMs();
    for (const auto& r : fx.ended) {
        reporter_.emit(event::replicaEnded(now, r));
        // A worker whose lease ran out may still be running the replica.
        if (r.state == ReplicaState::kExpired && sessions_.contains(r.worker))
            cancels_[r.worker].push_back(
                wire::Cancel{.unitId = r.unitId, .replica = r.replica, .reason = "lease expired"});
    }
    for (const auto& c : fx.cancelled)
        cancels_[c.worker].push_back(
            wire::Cancel{.unitId = c.unitId, .replica = c.replica, .reason = "not needed"});
    for (const auto& id : fx.validated) {
        const UnitRecord* u = scheduler_->unit(id);
        if (u == nullptr || !u->acceptedReplica)
            continue;
        const auto& reps = scheduler_->replicas(id);
        auto written = results_.writeUnit(id, reps.at(*u->acceptedReplica).outputs);
        if (!written)
            kLog.error("cannot write results of {}: {}", id, written.error().what);
        reporter_.emit(event::unitValid(now, *u));
    }
    for (const auto& id : fx.failed) {
        if (const UnitRecord* u = scheduler_->unit(id)) {
            kLog.warn("unit {} failed: {}", id, u->reason);
            reporter_.emit(event::unitFailed(now, *u));
        }
    }
}

std::optional<OfferBook::Token> Batch::offerTo(const std::string& wid, const wire::PublicKey& key,
                                               std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    if (sessions_.contains(wid))
        return std::nullopt;
    return offers_.offer(wid, key, nowMs);
}

std::expected<void, std::string> Batch::redeem(const OfferBook::Token& token,
                                               const wire::PublicKey& key) {
    std::lock_guard lock(mutex_);
    return offers_.redeem(token, key, clock_.nowMs());
}

namespace {
// Sessions the summary lists at most: the first ones, then a note of the rest.
constexpr std::size_t kSessionLog = 4096;
} // namespace

bool Batch::connect(const WorkerId& wid, const std::string& path, const std::string& address) {
    std::lock_guard lock(mutex_);
    if (!sessions_.insert(wid).second)
        return false;
    scheduler_->workerConnected(wid);
    if (sessionLog_.size() < kSessionLog) {
        openSession_[wid] = sessionLog_.size();
        sessionLog_.push_back({wid, path, address, clock_.nowMs(), 0, {}});
    }
    return true;
}

void Batch::disconnect(const WorkerId& wid, bool replicasLost, const std::string& reason) {
    std::lock_guard lock(mutex_);
    // A stopping run (Ctrl-C once) leaves its replicas in flight in the
    // journal: their units keep running on the workers, which hold the
    // results for the resumed run.
    if (replicasLost && !holding_)
        apply(scheduler_->workerDisconnected(wid));
    if (auto it = openSession_.find(wid); it != openSession_.end()) {
        sessionLog_[it->second].endedMs = clock_.nowMs();
        sessionLog_[it->second].reason = reason;
        openSession_.erase(it);
    }
    sessions_.erase(wid);
    cancels_.erase(wid);
    std::erase_if(unanswered_, [&](const auto& k) { return std::get<0>(k) == wid; });
    sessionEnded_.notify_all();
    answered_.notify_all();
}

void Batch::waitForNoWorkers(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    sessionEnded_.wait_for(lock, timeout, [&] { return sessions_.empty(); });
}

Owed Batch::owed(const WorkerId& wid, std::uint32_t demand, bool idle) {
    Owed o;
    std::lock_guard lock(mutex_);
    o.finished = scheduler_->finished();
    if (cancelled_ || holding_) {
        // Cancelled or stopping: the cancels go out, no work does.
    } else if (!o.finished && demand > 0) {
        o.assigned = scheduler_->requestWork(wid, demand);
        for (const auto& a : o.assigned) {
            o.assigns.push_back(buildAssign(job_, *units_.at(a.unitId), a, *catalog_));
            addCheckpoint(o.assigns.back(), scheduler_->checkpointOf(a.unitId, a.replica));
            reporter_.emit(event::replicaAssigned(clock_.nowMs(), a));
        }
    } else if (!o.finished && idle) {
        o.workReady = scheduler_->hasWorkFor(wid);
    }
    o.cancels.swap(cancels_[wid]);
    return o;
}

void Batch::workerBye(const WorkerId& wid, const std::vector<std::string>& givenBack) {
    std::lock_guard lock(mutex_);
    apply(scheduler_->workerBye(wid, parseGivenBack(givenBack)));
}

void Batch::giveBack(const WorkerId& wid, const std::string& unitId, std::uint32_t replica,
                     std::vector<OutputFile> checkpoint, const std::string& why) {
    std::lock_guard lock(mutex_);
    if (unanswered_.erase({wid, unitId, replica}) > 0)
        answered_.notify_all();
    const auto files = checkpoint.size();
    auto fx = scheduler_->giveBack(wid, unitId, replica, std::move(checkpoint), why);
    if (!fx.ignored.empty()) {
        kLog.info("give-back of {}/{} ignored: {}", unitId, replica, fx.ignored);
        return;
    }
    kLog.info("worker {} gave back {}/{} with {} checkpoint file(s){}", wid.substr(0, 12), unitId,
              replica, files, why.empty() ? "" : ": " + why);
    reporter_.emit(event::replicaEnded(clock_.nowMs(), scheduler_->replicas(unitId).at(replica)));
    apply(fx);
}

void Batch::reportResult(const WorkerId& wid, const std::string& unitId, std::uint32_t replica,
                         const ReplicaReport& report) {
    std::lock_guard lock(mutex_);
    if (unanswered_.erase({wid, unitId, replica}) > 0)
        answered_.notify_all();
    auto fx = scheduler_->reportResult(wid, unitId, replica, report);
    if (!fx.ignored.empty())
        kLog.info("result for {}/{} ignored: {}", unitId, replica, fx.ignored);
    apply(fx);
}

std::optional<CancelTally> Batch::cancel() {
    std::lock_guard lock(mutex_);
    if (cancelled_)
        return cancelled_;
    if (scheduler_->finished())
        return std::nullopt;
    const auto fx = scheduler_->cancelAll();
    std::set<WorkerId> workers;
    for (const auto& c : fx.cancelled) {
        workers.insert(c.worker);
        if (!sessions_.contains(c.worker))
            continue;
        cancels_[c.worker].push_back(wire::Cancel{
            .unitId = c.unitId, .replica = c.replica, .reason = std::string(kResearcherCancel)});
        unanswered_.emplace(c.worker, c.unitId, c.replica);
    }
    const auto now = clock_.nowMs();
    journal_.recordCancel(now);
    cancelled_ = CancelTally{fx.cancelled.size(), workers.size()};
    kLog.info("{}", cancelMessage(*cancelled_));
    reporter_.emit(event::jobCancelled(now, cancelled_->replicas, cancelled_->workers));
    return cancelled_;
}

bool Batch::cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_.has_value();
}

void Batch::holdWork() {
    std::lock_guard lock(mutex_);
    holding_ = true;
}

bool Batch::waitForCancelAnswers(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return answered_.wait_for(lock, timeout, [&] { return unanswered_.empty(); });
}

void Batch::reportProgress(const WorkerId& wid, const wire::Progress& progress) {
    std::lock_guard lock(mutex_);
    if (scheduler_->reportProgress(wid, progress.unitId, progress.replica))
        return;
    // Its containers would hold the worker's slots for nothing (a killed
    // run's replica that was decided or reissued meanwhile).
    kLog.info("worker {} runs {}/{}, which it does not hold; cancelling it", wid.substr(0, 12),
              progress.unitId, progress.replica);
    cancels_[wid].push_back(wire::Cancel{.unitId = progress.unitId,
                                         .replica = progress.replica,
                                         .reason = "not held by this worker"});
}

bool Batch::expire(std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    if (auto next = scheduler_->nextLeaseExpiry(); next && *next <= nowMs)
        apply(scheduler_->expireLeases());
    offers_.expire(nowMs);
    return scheduler_->finished();
}

bool Batch::finished() const {
    std::lock_guard lock(mutex_);
    return scheduler_->finished();
}

SchedulerCounts Batch::counts() const {
    std::lock_guard lock(mutex_);
    return scheduler_->counts();
}

std::size_t Batch::workers() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

BatchView Batch::view() const {
    BatchView v;
    std::lock_guard lock(mutex_);
    v.snapshot = scheduler_->snapshot();
    v.connectedNow = sessions_;
    v.connectedEver = sessions_;
    for (const auto& s : sessionLog_)
        v.connectedEver.insert(s.worker);
    v.blockedUnits = scheduler_->blockedUnits();
    v.finished = scheduler_->finished();
    return v;
}

int Batch::finish() {
    Snapshot snapshot;
    SchedulerCounts c;
    bool done = false;
    std::vector<SessionRecord> sessions;
    {
        std::lock_guard lock(mutex_);
        sessions = sessionLog_;
        snapshot = scheduler_->snapshot();
        c = scheduler_->counts();
        done = scheduler_->finished();
    }
    results_.writeSummary(job_.name, snapshot, sessions);
    auto resultsDir = (jobDir_ / "results").string();
    reporter_.emit(event::jobFinished(clock_.nowMs(), c.total, c.valid, c.failed, resultsDir));
    if (!reporter_.json()) {
        std::fputs(statusReport(job_.name, snapshot).c_str(), stdout);
        std::printf("results: %s\nsummary: %s\n", resultsDir.c_str(),
                    (jobDir_ / "summary.json").c_str());
    }
    if (!done)
        return 130;
    return c.valid == c.total ? 0 : 1;
}

} // namespace swarm::submitter

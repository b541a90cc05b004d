#include "submitter/submission.hpp"

#include "wire/clock.hpp"

#include <fmt/format.h>

namespace swarm::submitter {

namespace fs = std::filesystem;
using wire::Error;

std::expected<std::unique_ptr<Submission>, Error>
Submission::open(const fs::path& dir, const std::optional<JobSpec>& job, const wire::Clock& clock,
                 EventSink events) {
    if (Journal::exists(dir)) {
        auto journal = Journal::open(dir);
        auto stored = journal.job();
        if (!stored)
            return std::unexpected(
                Error(Error::Code::kInvalidArgument,
                      fmt::format("cannot resume {}: {}", dir.string(), stored.error().what)));
        if (job && jobSpecToToml(*job) != journal.specToml())
            return std::unexpected(Error(
                Error::Code::kInvalidArgument,
                fmt::format("{} already holds a different job; use another output directory, or "
                            "resume it without a job",
                            dir.string())));
        return std::unique_ptr<Submission>(new Submission(
            dir, std::move(*stored), std::move(journal), clock, std::move(events), true));
    }
    if (!job)
        return std::unexpected(
            Error(Error::Code::kNotFound, fmt::format("no job journal in {}", dir.string())));
    auto journal = Journal::create(dir, *job);
    return std::unique_ptr<Submission>(
        new Submission(dir, *job, std::move(journal), clock, std::move(events), false));
}

Submission::Submission(const fs::path& dir, JobSpec job, Journal journal, const wire::Clock& clock,
                       EventSink events, bool resumed)
    : job_(std::move(job)), journal_(std::move(journal)), clock_(clock), events_(std::move(events)),
      resumed_(resumed), results_(dir) {
    std::vector<std::string> ids;
    ids.reserve(job_.units.size());
    for (std::size_t i = 0; i < job_.units.size(); ++i) {
        unitIndex_.emplace(job_.units[i].id, i);
        ids.push_back(job_.units[i].id);
    }
    inputs_ = std::make_unique<InputCatalog>(job_);
    scheduler_ = std::make_unique<Scheduler>(job_.policy, std::move(ids), clock_, journal_);
    startedMs_ = clock_.nowMs();
    emit(event::jobStarted(startedMs_, job_.name, job_.units.size(), job_.policy, resumed_));
    const Effects restored = scheduler_->restore(journal_.load());
    std::vector<ToWorker> none;
    apply(restored, none, false);
    for (const auto& [unit, error] : results_.writeMissingUnits(scheduler_->snapshot()))
        emit(event::warning(clock_.nowMs(),
                            fmt::format("results of unit {} not written: {}", unit, error.what)));
    const auto c = scheduler_->counts();
    decidedAtStart_ = c.valid + c.failed;
}

Submission::~Submission() = default;

void Submission::workerConnected(const WorkerId& worker) {
    if (connected_.insert(worker).second)
        emit(event::workerConnected(clock_.nowMs(), worker));
    scheduler_->workerConnected(worker);
}

std::vector<wire::Assign> Submission::requestWork(const WorkerId& worker, std::uint32_t slots) {
    workerConnected(worker);
    std::vector<wire::Assign> out;
    for (const auto& a : scheduler_->requestWork(worker, slots)) {
        const auto& unit = job_.units[unitIndex_.at(a.unitId)];
        out.push_back(buildAssign(job_, unit, a, *inputs_));
        emit(event::replicaAssigned(clock_.nowMs(), a));
    }
    return out;
}

std::vector<wire::FileRef> Submission::missingOutputs(const wire::Result& result) const {
    const auto& reps = scheduler_->replicas(result.unitId);
    if (result.replica >= reps.size() || reps[result.replica].state != ReplicaState::kInFlight)
        return {};
    const ReplicaReport report = reportFromResult(result);
    if (!report.error.empty())
        return {};
    std::vector<wire::FileRef> out;
    std::set<wire::Digest> seen;
    for (const auto& ref : result.outputs) {
        const wire::Digest d{ref.digest};
        if (!results_.hasBlob(d) && seen.insert(d).second)
            out.push_back(ref);
    }
    return out;
}

std::vector<ToWorker> Submission::result(const WorkerId& worker, const wire::Result& result) {
    std::vector<ToWorker> out;
    const ReplicaReport report = reportFromResult(result);
    const Effects effects = scheduler_->reportResult(worker, result.unitId, result.replica, report);
    if (!effects.ignored.empty()) {
        emit(event::warning(clock_.nowMs(),
                            fmt::format("ignored result for {}/{} from {}: {}", result.unitId,
                                        result.replica, worker, effects.ignored)));
        return out;
    }
    const auto& rec = scheduler_->replicas(result.unitId)[result.replica];
    if (rec.state == ReplicaState::kSucceeded)
        emit(event::replicaEnded(clock_.nowMs(), rec)); // errors come through effects.ended
    apply(effects, out, false);
    return out;
}

std::vector<ToWorker> Submission::workerBye(const WorkerId& worker, const wire::Bye& bye) {
    std::vector<ToWorker> out;
    apply(scheduler_->workerBye(worker, parseGivenBack(bye.givenBack)), out, false);
    if (connected_.erase(worker))
        emit(event::workerDisconnected(clock_.nowMs(), worker,
                                       bye.reason.empty() ? "bye" : "bye: " + bye.reason));
    return out;
}

std::vector<ToWorker> Submission::workerDisconnected(const WorkerId& worker,
                                                     std::string_view reason) {
    std::vector<ToWorker> out;
    apply(scheduler_->workerDisconnected(worker), out, false);
    if (connected_.erase(worker))
        emit(event::workerDisconnected(clock_.nowMs(), worker, reason));
    return out;
}

std::vector<ToWorker> Submission::tick() {
    std::vector<ToWorker> out;
    apply(scheduler_->expireLeases(), out, true);
    return out;
}

void Submission::apply(const Effects& effects, std::vector<ToWorker>& out, bool cancelExpired) {
    const std::int64_t now = clock_.nowMs();
    for (const auto& r : effects.ended) {
        emit(event::replicaEnded(now, r));
        if (cancelExpired && r.state == ReplicaState::kExpired && connected_.contains(r.worker))
            out.push_back({r.worker, wire::Cancel{1, r.unitId, r.replica, "lease expired"}});
    }
    for (const auto& a : effects.cancelled) {
        emit(event::replicaEnded(now, scheduler_->replicas(a.unitId)[a.replica]));
        if (connected_.contains(a.worker))
            out.push_back({a.worker, wire::Cancel{1, a.unitId, a.replica, "unit already decided"}});
    }
    for (const auto& id : effects.validated) {
        const UnitRecord& u = *scheduler_->unit(id);
        const auto& accepted = scheduler_->replicas(id)[*u.acceptedReplica];
        if (auto ok = results_.writeUnit(id, accepted.outputs); !ok)
            emit(event::warning(
                now, fmt::format("results of unit {} not written: {}", id, ok.error().what)));
        emit(event::unitValid(now, u));
    }
    for (const auto& id : effects.failed)
        emit(event::unitFailed(now, *scheduler_->unit(id)));
}

ProgressState Submission::progress() const {
    const auto c = scheduler_->counts();
    ProgressState p;
    p.total = c.total;
    p.valid = c.valid;
    p.failed = c.failed;
    p.running = c.running;
    p.workers = connected_.size();
    p.startedMs = startedMs_;
    p.nowMs = clock_.nowMs();
    p.decidedAtStart = decidedAtStart_;
    return p;
}

int Submission::finish() {
    const auto c = scheduler_->counts();
    results_.writeSummary(job_.name, scheduler_->snapshot());
    emit(event::jobFinished(clock_.nowMs(), c.total, c.valid, c.failed,
                            (results_.jobDir() / "results").string()));
    return c.valid == c.total ? 0 : 1;
}

} // namespace swarm::submitter

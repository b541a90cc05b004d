#include "submitter/job_runner.hpp"

#include "base/executor.hpp"
#include "submitter/batch.hpp"
#include "submitter/offer_book.hpp"
#include "submitter/reporter.hpp"
#include "submitter/requirements.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");
constexpr auto kTick = std::chrono::milliseconds(250);
// After the last unit is decided, how long the workers get to hear bye.
constexpr auto kByeGrace = std::chrono::seconds(2);
// After a cancel, how long the workers get to answer (kill the containers).
constexpr auto kCancelGrace = std::chrono::seconds(5);
constexpr std::int64_t kDiagnoseEveryMs = 2000;
} // namespace

JobRunner::JobRunner(Batch& batch, SwarmAccess& swarm, base::Executor& timer, Endpoints endpoints)
    : batch_(batch), swarm_(swarm), timer_(timer), endpoints_(std::move(endpoints)),
      startedMs_(batch.clock().nowMs()), diagnosis_(startedMs_) {
    auto c = batch_.counts();
    decidedAtStart_ = c.valid + c.failed;
}

bool JobRunner::tick() {
    const auto now = batch_.clock().nowMs();
    if (batch_.expire(now))
        return true;
    offerWork(now);
    if (diagnosisDir_ && now - lastDiagnosisMs_ >= kDiagnoseEveryMs)
        diagnose(now);
    batch_.reporter().progress(progress());
    return false;
}

void JobRunner::diagnoseInto(std::filesystem::path jobDir, std::int64_t warnAfterMs) {
    diagnosisDir_ = std::move(jobDir);
    stall_.emplace(warnAfterMs);
}

// Gathers the facts, writes why.json and warns when the run is stalled.
void JobRunner::diagnose(std::int64_t nowMs) {
    lastDiagnosisMs_ = nowMs;
    auto view = batch_.view();
    RunFacts f;
    f.nowMs = nowMs;
    f.swarm = swarm_.health();
    f.workersFound = found_;
    f.unmet = unmet_;
    f.connectedNow = std::move(view.connectedNow);
    f.connectedEver = std::move(view.connectedEver);
    f.quorum = batch_.job().policy.quorum;
    f.blockedUnits = view.blockedUnits;
    f.finished = view.finished;
    const auto report = diagnosis_.diagnose(f, view.snapshot);
    if (auto ok = writeDiagnosis(*diagnosisDir_, report); !ok)
        kLog.warn("{}", ok.error());
    if (auto line = stall_->check(report)) {
        batch_.reporter().warn(*line);
        batch_.reporter().emit(event::warning(nowMs, *line));
    }
}

// Offers work to trusted workers with slots that we have no session with. No endpoints yet (a
// relay reservation on its way): none this tick.
void JobRunner::offerWork(std::int64_t nowMs) {
    const auto workers = swarm_.workers();
    found_.clear();
    for (const auto& w : workers)
        if (w.record.slots > 0)
            found_.push_back(w.id.str());
    if (workers.empty())
        return;
    const std::vector<std::string> endpoints = endpoints_();
    if (endpoints.empty())
        return;
    bool anyMet = false;
    for (const auto& w : workers) {
        if (w.record.slots == 0) // a peer that only relays (a submitter's relay record)
            continue;
        const auto wid = w.id.str();
        if (auto why = unmetRequirement(batch_.job().requirements, w.record)) {
            if (unmet_[wid] != *why)
                kLog.info("worker {} does not meet the job's requirements: {}", wid.substr(0, 12),
                          *why);
            unmet_[wid] = *why;
            continue;
        }
        unmet_.erase(wid);
        anyMet = true;
        auto token = batch_.offerTo(wid, w.id.key(), nowMs);
        if (!token)
            continue;
        wire::Offer offer;
        offer.endpoints = endpoints;
        offer.token = *token;
        offer.jobId = batch_.job().name;
        offer.batchId = batch_.batchId();
        kLog.info("offering work to {}", wid.substr(0, 12));
        swarm_.postOffer(w.id, offer);
        diagnosis_.offered(wid, endpoints, nowMs);
        batch_.reporter().emit(event::offerPosted(batch_.clock().nowMs(), wid));
    }
    warnIfNoneMet(anyMet, nowMs);
}

// Once while no trusted worker with slots meets the job's requirements, a
// warning that says so with their reasons (else the run would wait in
// silence); again after one did meet them.
void JobRunner::warnIfNoneMet(bool anyMet, std::int64_t nowMs) {
    if (anyMet || unmet_.empty()) {
        warnedUnmet_ = false;
        return;
    }
    if (warnedUnmet_)
        return;
    warnedUnmet_ = true;
    std::set<std::string> reasons;
    for (const auto& [id, why] : unmet_)
        reasons.insert(why);
    const auto text = fmt::format("no trusted worker meets the job's requirements ({} found: {})",
                                  unmet_.size(), fmt::join(reasons, "; "));
    kLog.warn("{}", text);
    batch_.reporter().emit(event::warning(nowMs, text));
}

ProgressState JobRunner::progress() const {
    auto c = batch_.counts();
    ProgressState p;
    p.total = c.total;
    p.valid = c.valid;
    p.failed = c.failed;
    p.running = c.running;
    p.workers = batch_.workers();
    p.startedMs = startedMs_;
    p.nowMs = batch_.clock().nowMs();
    p.decidedAtStart = decidedAtStart_;
    return p;
}

void JobRunner::run(const std::atomic<bool>& interrupted) {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr failure;
    auto finishWith = [&](std::exception_ptr e) {
        std::lock_guard lock(mutex);
        done = true;
        failure = e;
        cv.notify_all();
    };
    // Each tick schedules the next on the timer until the job is over; a
    // tick that throws ends the run with its exception.
    std::function<void()> step = [&] {
        try {
            if (interrupted)
                batch_.holdWork(); // stopping: no new work while the workers hear of it
            if (interrupted || batch_.cancelled() || tick())
                return finishWith(nullptr);
        } catch (...) {
            return finishWith(std::current_exception());
        }
        timer_.postAfter(kTick, step);
    };
    timer_.post(step);
    {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return done; });
    }
    if (diagnosisDir_) // the timer no longer ticks: the last word on why
        diagnose(batch_.clock().nowMs());
    if (failure)
        std::rethrow_exception(failure);
    if (batch_.cancelled()) {
        if (!batch_.waitForCancelAnswers(kCancelGrace))
            kLog.warn("not every worker answered the cancel within {} s",
                      std::chrono::seconds(kCancelGrace).count());
        return;
    }
    // Let the workers hear "bye" from their sessions.
    batch_.waitForNoWorkers(kByeGrace);
}

} // namespace swarm::submitter

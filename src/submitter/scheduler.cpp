#include "submitter/scheduler.hpp"

#include "wire/clock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <charconv>

namespace swarm::submitter {

namespace {

// How long a worker that connects has to confirm a replica restored from
// the journal (by progress or a result) before it counts as abandoned.
constexpr std::int64_t kConfirmRestoredMs = 60'000;
// A worker's progress keeps its replica alive at most this many lease
// spans after it was issued: a worker that says "running" for ever cannot
// keep a unit from being decided.
constexpr std::int64_t kMaxLeaseSpans = 4;

struct Votes {
    std::size_t results = 0; // successful results received
    std::size_t best = 0;    // size of the largest agreeing group
    std::optional<wire::Digest> bestDigest;
    std::map<wire::Digest, std::size_t> groups;
};

// The workers a replica's result rests on: its own, and those of the
// given-back replicas whose checkpoints it started from (an origin always
// comes before the replica it seeded, so the walk ends).
std::set<WorkerId> lineage(const std::vector<ReplicaRecord>& replicas, std::size_t i) {
    std::set<WorkerId> out;
    while (i < replicas.size()) {
        out.insert(replicas[i].worker);
        const auto from = replicas[i].resumedFrom;
        if (!from || *from >= i)
            break;
        i = *from;
    }
    return out;
}

bool disjoint(const std::set<WorkerId>& a, const std::set<WorkerId>& b) {
    return std::none_of(a.begin(), a.end(), [&](const WorkerId& w) { return b.contains(w); });
}

// Agreeing results count as independent votes only when no worker's work
// is in two of them: a worker whose forged checkpoint seeded another
// replica, or who agrees with a replica it seeded, votes once.
Votes countVotes(const std::vector<ReplicaRecord>& replicas) {
    Votes v;
    std::map<wire::Digest, std::set<WorkerId>> counted;
    for (std::size_t i = 0; i < replicas.size(); ++i) {
        const auto& r = replicas[i];
        if (r.state != ReplicaState::kSucceeded || !r.digest)
            continue;
        auto behind = lineage(replicas, i);
        auto& seen = counted[*r.digest];
        if (!disjoint(behind, seen))
            continue;
        seen.merge(behind);
        ++v.results;
        ++v.groups[*r.digest];
    }
    for (const auto& [digest, n] : v.groups) {
        if (n > v.best) {
            v.best = n;
            v.bestDigest = digest;
        }
    }
    return v;
}

std::string shortDigest(const wire::Digest& d) {
    return d.str().substr(7, 12);
}

std::string describeVotes(const Votes& v) {
    if (v.groups.empty())
        return "no successful results";
    std::string out;
    for (const auto& [digest, n] : v.groups) {
        if (!out.empty())
            out += ", ";
        out += fmt::format("{}x{}", shortDigest(digest), n);
    }
    return "results " + out;
}

} // namespace

Scheduler::Scheduler(ReplicationPolicy policy, std::vector<std::string> unitIds,
                     const wire::Clock& clock, SchedulerStore& store)
    : policy_(policy), clock_(clock), store_(store) {
    assert(policy_.quorum >= 1 && policy_.quorum <= policy_.replicas);
    assert(policy_.replicas <= policy_.maxTotalResults);
    units_.reserve(unitIds.size());
    for (auto& id : unitIds) {
        assert(!index_.contains(id));
        index_.emplace(id, units_.size());
        Slot slot;
        slot.rec.id = std::move(id);
        units_.push_back(std::move(slot));
    }
    for (std::size_t i = 0; i < units_.size(); ++i)
        refreshNeed(i);
}

Effects Scheduler::restore(const Snapshot& snapshot) {
    StateBatch batch;
    Effects effects;
    for (const auto& rec : snapshot.units) {
        auto it = index_.find(rec.id);
        if (it == index_.end())
            continue;
        auto& slot = units_[it->second];
        if (slot.rec.state == UnitState::kPending && rec.state != UnitState::kPending)
            ++decided_;
        slot.rec = rec;
    }
    for (const auto& rec : snapshot.replicas) {
        auto it = index_.find(rec.unitId);
        if (it == index_.end())
            continue;
        auto& list = units_[it->second].replicas;
        if (rec.replica >= list.size())
            list.resize(rec.replica + 1);
        list[rec.replica] = rec;
    }
    for (std::size_t i = 0; i < units_.size(); ++i) {
        auto& slot = units_[i];
        for (std::uint32_t n = 0; n < slot.replicas.size(); ++n) {
            auto& r = slot.replicas[n];
            if (r.unitId.empty()) { // a gap: a number that was never committed
                r.unitId = slot.rec.id;
                r.replica = n;
                r.state = ReplicaState::kAbandoned;
                r.reason = "missing from the journal";
                batch.replicas.push_back(r);
            } else if (r.state == ReplicaState::kInFlight) {
                holdRestored(i, r, batch);
            }
        }
        if (slot.rec.state == UnitState::kPending)
            settle(i, batch, effects);
        refreshNeed(i);
    }
    commit(batch);
    return effects;
}

// Its worker may still be running it, or holding its result for us: while
// its lease lasts it is not reissued.
void Scheduler::holdRestored(std::size_t unit, ReplicaRecord& r, StateBatch& batch) {
    if (r.leaseExpiresMs > clock_.nowMs() && units_[unit].rec.state == UnitState::kPending) {
        leases_.emplace(r.leaseExpiresMs, unit, r.replica);
        held_[r.worker].emplace(unit, r.replica);
        unconfirmed_.emplace(std::pair{unit, r.replica}, 0);
        return;
    }
    r.state = ReplicaState::kAbandoned;
    r.reason = "in flight when the submitter stopped";
    batch.replicas.push_back(r);
}

void Scheduler::workerConnected(const WorkerId& worker) {
    connected_.insert(worker);
    seen_.insert(worker);
    // A worker that still runs or holds a restored replica says so at once
    // (progress on connect, then the held results); one that does not, has
    // lost it (restarted, or older than held results).
    for (auto& [key, deadline] : unconfirmed_)
        if (deadline == 0 && units_[key.first].replicas[key.second].worker == worker)
            deadline = clock_.nowMs() + kConfirmRestoredMs;
}

std::uint32_t Scheduler::initialReplicas(const Slot&) const {
    return policy_.replicas;
}

// A worker never holds two replicas of a unit that could vote. One whose
// replica was lost (its session dropped, so no result came: no vote) or
// given back (with or without a checkpoint: no vote either) may take the
// unit again, at most kRetakes times: a small swarm whose links flapped or
// whose windows closed still finishes, and a worker that keeps giving a
// unit back cannot grow the unit and its journal without end. An
// abandoned replica (we died) does not count.
bool Scheduler::eligible(const Slot& slot, const WorkerId& worker) const {
    constexpr std::size_t kRetakes = 2;
    std::size_t ended = 0;
    for (const auto& r : slot.replicas) {
        if (r.worker != worker || r.state == ReplicaState::kAbandoned ||
            (r.state == ReplicaState::kGivenBack && r.reason == kResearcherCancel))
            continue;
        // A replica given back never voted: its worker may take the unit
        // again (a schedule window that closed on it opens again), as often
        // as a lost one, so a worker giving back at once cannot make the
        // unit and its journal grow without end.
        if (r.state != ReplicaState::kLost && r.state != ReplicaState::kGivenBack)
            return false;
        ++ended;
    }
    return ended <= kRetakes;
}

std::uint32_t Scheduler::wantedNew(const Slot& slot) const {
    if (slot.rec.state != UnitState::kPending)
        return 0;
    const Votes v = countVotes(slot.replicas);
    std::size_t inFlight = 0;
    std::size_t issued = 0;
    for (const auto& r : slot.replicas) {
        inFlight += r.state == ReplicaState::kInFlight;
        issued += countsAsIssued(r.state);
    }
    // Fewest further agreeing results that could make the best group valid:
    // b + k >= Q and 2(b + k) > n + k.
    const std::size_t q = policy_.quorum;
    std::size_t needed = 0;
    if (v.best < q)
        needed = q - v.best;
    if (v.results + 1 > 2 * v.best)
        needed = std::max(needed, v.results + 1 - 2 * v.best);
    const std::size_t r = initialReplicas(slot);
    const std::size_t wanted = std::max(r > v.results ? r - v.results : 0, needed);
    if (wanted <= inFlight)
        return 0;
    const std::size_t budget =
        policy_.maxTotalResults > issued ? policy_.maxTotalResults - issued : 0;
    return static_cast<std::uint32_t>(std::min(wanted - inFlight, budget));
}

void Scheduler::refreshNeed(std::size_t unit) {
    if (wantedNew(units_[unit]) > 0)
        needy_.insert(unit);
    else
        needy_.erase(unit);
}

std::vector<Assignment> Scheduler::requestWork(const WorkerId& worker, std::uint32_t slots) {
    connected_.insert(worker);
    seen_.insert(worker);
    std::vector<Assignment> out;
    StateBatch batch;
    const std::int64_t now = clock_.nowMs();
    for (auto it = needy_.begin(); it != needy_.end() && out.size() < slots;) {
        const std::size_t u = *it++; // refreshNeed(u) below may erase u
        auto& slot = units_[u];
        if (!eligible(slot, worker))
            continue;
        ReplicaRecord r;
        r.unitId = slot.rec.id;
        r.replica = static_cast<std::uint32_t>(slot.replicas.size());
        r.worker = worker;
        r.state = ReplicaState::kInFlight;
        r.issuedMs = now;
        r.leaseExpiresMs = now + policy_.leaseMs;
        r.resumedFrom = checkpointFor(slot, worker);
        slot.replicas.push_back(r);
        leases_.emplace(r.leaseExpiresMs, u, r.replica);
        held_[worker].emplace(u, r.replica);
        out.push_back({r.unitId, r.replica, worker, r.leaseExpiresMs});
        batch.replicas.push_back(std::move(r));
        refreshNeed(u);
    }
    commit(batch);
    return out;
}

bool Scheduler::hasWorkFor(const WorkerId& worker) const {
    return std::any_of(needy_.begin(), needy_.end(),
                       [&](std::size_t u) { return eligible(units_[u], worker); });
}

void Scheduler::endReplica(std::size_t unit, std::uint32_t replica, ReplicaState state,
                           std::string reason, StateBatch& batch, Effects& effects) {
    auto& r = units_[unit].replicas[replica];
    assert(r.state == ReplicaState::kInFlight);
    leases_.erase(std::make_tuple(r.leaseExpiresMs, unit, replica));
    if (auto h = held_.find(r.worker); h != held_.end()) {
        h->second.erase(std::make_pair(unit, replica));
        if (h->second.empty())
            held_.erase(h);
    }
    r.state = state;
    r.reason = std::move(reason);
    batch.replicas.push_back(r);
    if (countsAsError(state) || state == ReplicaState::kRefused)
        effects.ended.push_back(r);
}

void Scheduler::settle(std::size_t unit, StateBatch& batch, Effects& effects) {
    auto& slot = units_[unit];
    if (slot.rec.state != UnitState::kPending)
        return;
    const Votes v = countVotes(slot.replicas);
    std::size_t errors = 0;
    std::size_t refusals = 0;
    std::size_t issued = 0;
    std::size_t inFlight = 0;
    for (const auto& r : slot.replicas) {
        errors += countsAsError(r.state);
        refusals += r.state == ReplicaState::kRefused;
        issued += countsAsIssued(r.state);
        inFlight += r.state == ReplicaState::kInFlight;
    }

    auto decide = [&](UnitState state) {
        slot.rec.state = state;
        ++decided_;
        for (const auto& r : slot.replicas) {
            if (r.state == ReplicaState::kInFlight) {
                effects.cancelled.push_back({r.unitId, r.replica, r.worker, r.leaseExpiresMs});
                endReplica(unit, r.replica, ReplicaState::kCancelled, "unit already decided", batch,
                           effects);
            }
        }
        batch.units.push_back(slot.rec);
        (state == UnitState::kValid ? effects.validated : effects.failed).push_back(slot.rec.id);
    };

    if (v.best >= policy_.quorum && 2 * v.best > v.results) {
        slot.rec.digest = v.bestDigest;
        slot.rec.agreed.clear();
        slot.rec.acceptedReplica.reset();
        for (const auto& r : slot.replicas) {
            if (r.state == ReplicaState::kSucceeded && r.digest == v.bestDigest) {
                if (!slot.rec.acceptedReplica)
                    slot.rec.acceptedReplica = r.replica;
                slot.rec.agreed.push_back(r.worker);
            }
        }
        slot.rec.reason.clear();
        decide(UnitState::kValid);
    } else if (errors > policy_.maxErrors) {
        std::string why;
        for (const auto& r : slot.replicas) {
            if (countsAsError(r.state))
                why += fmt::format("; replica {} on {}: {}", r.replica, r.worker.substr(0, 12),
                                   r.reason);
        }
        slot.rec.reason =
            fmt::format("too many errors ({} > max_errors {}){}", errors, policy_.maxErrors, why);
        decide(UnitState::kFailed);
    } else if (inFlight == 0 && issued >= policy_.maxTotalResults) {
        slot.rec.reason =
            fmt::format("max_total_results ({}) reached without a valid result: {}, {} errors{}",
                        policy_.maxTotalResults, describeVotes(v), errors,
                        refusals > 0 ? fmt::format(", {} refused by workers", refusals) : "");
        decide(UnitState::kFailed);
    }
    refreshNeed(unit);
}

Effects Scheduler::reportResult(const WorkerId& worker, std::string_view unitId,
                                std::uint32_t replica, const ReplicaReport& report) {
    Effects effects;
    auto it = index_.find(std::string(unitId));
    if (it == index_.end()) {
        effects.ignored = "unknown unit";
        return effects;
    }
    const std::size_t u = it->second;
    auto& slot = units_[u];
    if (replica >= slot.replicas.size() || slot.replicas[replica].worker != worker) {
        effects.ignored = "replica not assigned to this worker";
        return effects;
    }
    auto& r = slot.replicas[replica];
    const bool late = r.state != ReplicaState::kInFlight;
    if (late && !lateVoteAllowed(slot, worker, replica)) {
        effects.ignored = fmt::format("replica already ended ({})", stateName(r.state));
        return effects;
    }
    unconfirmed_.erase({u, replica});
    StateBatch batch;
    ReplicaState state = ReplicaState::kSucceeded;
    std::string reason;
    if (report.refused) {
        // The worker's own rule, not the unit's fault: no error, but an
        // issued replica (max_total_results), and eligible() keeps that
        // worker from being asked again.
        state = ReplicaState::kRefused;
        reason = report.error.empty() ? "refused" : report.error;
    } else if (!report.error.empty() || !report.digest) {
        r.exitCode = report.exitCode;
        r.outputs = report.outputs; // its logs, for `swarm-submit logs`
        state = ReplicaState::kErrored;
        reason = report.error.empty() ? "no digest" : report.error;
    } else {
        r.exitCode = report.exitCode;
        r.digest = report.digest;
        r.outputs = report.outputs;
    }
    if (!late) {
        endReplica(u, replica, state, std::move(reason), batch, effects);
    } else {
        // A late vote (BOINC accepts late results): the replica had ended
        // without one; it ends again with what the worker computed.
        r.state = state;
        r.reason = std::move(reason);
        batch.replicas.push_back(r);
        if (countsAsError(state))
            effects.ended.push_back(r);
    }
    settle(u, batch, effects);
    commit(batch);
    return effects;
}

// A result for a replica that ended lost, expired or abandoned still counts
// while its unit is pending, unless the worker holds another replica of the
// unit that votes or may still vote (one worker, one vote).
bool Scheduler::lateVoteAllowed(const Slot& slot, const WorkerId& worker,
                                std::uint32_t replica) const {
    const auto state = slot.replicas[replica].state;
    if (slot.rec.state != UnitState::kPending ||
        (state != ReplicaState::kLost && state != ReplicaState::kExpired &&
         state != ReplicaState::kAbandoned))
        return false;
    return std::none_of(slot.replicas.begin(), slot.replicas.end(), [&](const ReplicaRecord& r) {
        return r.replica != replica && r.worker == worker &&
               (r.state == ReplicaState::kInFlight || r.state == ReplicaState::kSucceeded ||
                r.state == ReplicaState::kErrored);
    });
}

bool Scheduler::reportProgress(const WorkerId& worker, std::string_view unitId,
                               std::uint32_t replica) {
    auto it = index_.find(std::string(unitId));
    if (it == index_.end())
        return false;
    const std::size_t u = it->second;
    auto& slot = units_[u];
    if (replica >= slot.replicas.size())
        return false;
    auto& r = slot.replicas[replica];
    // Only the worker that holds the replica may keep it alive.
    if (r.worker != worker)
        return false;
    // Lost or expired while it ran on: its result will still count (a late
    // vote), so the container is left to finish.
    if (r.state != ReplicaState::kInFlight)
        return lateVoteAllowed(slot, worker, replica);
    unconfirmed_.erase({u, replica});
    // Extended when less than half a lease span is left: at most about two
    // journal commits per span, however often the worker reports.
    const std::int64_t now = clock_.nowMs();
    const std::int64_t until =
        std::min(now + policy_.leaseMs, r.issuedMs + kMaxLeaseSpans * policy_.leaseMs);
    if (r.leaseExpiresMs - now < policy_.leaseMs / 2 && until > r.leaseExpiresMs) {
        leases_.erase(std::make_tuple(r.leaseExpiresMs, u, replica));
        r.leaseExpiresMs = until;
        leases_.emplace(until, u, replica);
        StateBatch batch;
        batch.replicas.push_back(r);
        commit(batch);
    }
    return true;
}

Effects Scheduler::workerBye(const WorkerId& worker,
                             const std::vector<std::pair<std::string, std::uint32_t>>& givenBack) {
    std::set<std::pair<std::size_t, std::uint32_t>> back;
    for (const auto& [id, n] : givenBack) {
        if (auto it = index_.find(id); it != index_.end())
            back.emplace(it->second, n);
    }
    return releaseWorker(worker, back, "worker left without giving it back");
}

Effects Scheduler::giveBack(const WorkerId& worker, std::string_view unitId, std::uint32_t replica,
                            std::vector<OutputFile> checkpoint, std::string_view why) {
    Effects effects;
    auto it = index_.find(std::string(unitId));
    if (it == index_.end()) {
        effects.ignored = "unknown unit";
        return effects;
    }
    const std::size_t u = it->second;
    auto& slot = units_[u];
    if (replica >= slot.replicas.size() || slot.replicas[replica].worker != worker ||
        slot.replicas[replica].state != ReplicaState::kInFlight) {
        effects.ignored = "not a replica this worker holds in flight";
        return effects;
    }
    unconfirmed_.erase({u, replica});
    slot.replicas[replica].outputs = std::move(checkpoint);
    StateBatch batch;
    endReplica(u, replica, ReplicaState::kGivenBack,
               why.empty() ? "given back" : "given back: " + std::string(why), batch, effects);
    settle(u, batch, effects);
    commit(batch);
    return effects;
}

// The newest checkpoint no replica that could vote already rests on, so
// that a forged checkpoint can seed at most one vote (countVotes()).
std::optional<std::uint32_t> Scheduler::checkpointFor(const Slot& slot,
                                                      const WorkerId& worker) const {
    const auto& reps = slot.replicas;
    for (auto g = reps.size(); g-- > 0;) {
        if (reps[g].state != ReplicaState::kGivenBack || reps[g].outputs.empty())
            continue;
        auto behind = lineage(reps, g);
        behind.insert(worker);
        bool shared = false;
        for (std::size_t r = 0; r < reps.size() && !shared; ++r)
            shared = (reps[r].state == ReplicaState::kInFlight ||
                      reps[r].state == ReplicaState::kSucceeded) &&
                     !disjoint(behind, lineage(reps, r));
        if (!shared)
            return static_cast<std::uint32_t>(g);
    }
    return std::nullopt;
}

std::vector<OutputFile> Scheduler::checkpointOf(std::string_view unitId,
                                                std::uint32_t replica) const {
    auto it = index_.find(std::string(unitId));
    if (it == index_.end())
        return {};
    const auto& reps = units_[it->second].replicas;
    if (replica >= reps.size() || !reps[replica].resumedFrom ||
        *reps[replica].resumedFrom >= replica)
        return {};
    return reps[*reps[replica].resumedFrom].outputs;
}

Effects Scheduler::workerDisconnected(const WorkerId& worker) {
    return releaseWorker(worker, {}, "worker disconnected");
}

Effects Scheduler::releaseWorker(const WorkerId& worker,
                                 const std::set<std::pair<std::size_t, std::uint32_t>>& givenBack,
                                 std::string_view lostReason) {
    Effects effects;
    StateBatch batch;
    if (auto h = held_.find(worker); h != held_.end()) {
        const auto held = h->second; // endReplica edits held_
        std::set<std::size_t> touched;
        for (const auto& [u, n] : held) {
            if (givenBack.contains({u, n}))
                endReplica(u, n, ReplicaState::kGivenBack, "given back", batch, effects);
            else
                endReplica(u, n, ReplicaState::kLost, std::string(lostReason), batch, effects);
            touched.insert(u);
        }
        for (auto u : touched)
            settle(u, batch, effects);
    }
    connected_.erase(worker);
    commit(batch);
    return effects;
}

Effects Scheduler::expireLeases() {
    Effects effects;
    StateBatch batch;
    const std::int64_t now = clock_.nowMs();
    std::set<std::size_t> touched;
    while (!leases_.empty() && std::get<0>(*leases_.begin()) <= now) {
        const auto [at, u, n] = *leases_.begin();
        // Restored from the journal, its worker never came back to this run
        // (or came back without a word of it): not an error.
        if (!seen_.contains(units_[u].replicas[n].worker))
            endReplica(u, n, ReplicaState::kAbandoned,
                       "in flight when the submitter stopped; its worker did not come back", batch,
                       effects);
        else if (unconfirmed_.contains({u, n}))
            endReplica(u, n, ReplicaState::kAbandoned,
                       "in flight when the submitter stopped; its worker came back without it",
                       batch, effects);
        else
            endReplica(u, n, ReplicaState::kExpired, "lease expired", batch, effects);
        touched.insert(u);
    }
    for (auto key = unconfirmed_.begin(); key != unconfirmed_.end();) {
        const auto [u, n] = key->first;
        const bool due = key->second != 0 && key->second <= now;
        if (due && units_[u].replicas[n].state == ReplicaState::kInFlight) {
            endReplica(u, n, ReplicaState::kAbandoned,
                       "in flight when the submitter stopped; its worker came back without it",
                       batch, effects);
            touched.insert(u);
        }
        key = due || units_[u].replicas[n].state != ReplicaState::kInFlight
                  ? unconfirmed_.erase(key)
                  : std::next(key);
    }
    for (auto u : touched)
        settle(u, batch, effects);
    commit(batch);
    return effects;
}

Effects Scheduler::cancelAll() {
    Effects effects;
    StateBatch batch;
    std::set<std::size_t> touched;
    while (!leases_.empty()) {
        const auto [at, u, n] = *leases_.begin();
        const auto& r = units_[u].replicas[n];
        effects.cancelled.push_back({r.unitId, r.replica, r.worker, r.leaseExpiresMs});
        endReplica(u, n, ReplicaState::kGivenBack, std::string(kResearcherCancel), batch, effects);
        touched.insert(u);
    }
    for (auto u : touched)
        refreshNeed(u);
    commit(batch);
    return effects;
}

std::optional<std::int64_t> Scheduler::nextLeaseExpiry() const {
    std::optional<std::int64_t> next;
    if (!leases_.empty())
        next = std::get<0>(*leases_.begin());
    for (const auto& [key, deadline] : unconfirmed_)
        if (deadline != 0 && (!next || deadline < *next))
            next = deadline;
    return next;
}

std::size_t Scheduler::blockedUnits() const {
    std::size_t n = 0;
    for (auto u : needy_) {
        const auto& slot = units_[u];
        n += std::none_of(connected_.begin(), connected_.end(),
                          [&](const WorkerId& w) { return eligible(slot, w); });
    }
    return n;
}

SchedulerCounts Scheduler::counts() const {
    SchedulerCounts c;
    c.total = units_.size();
    for (const auto& slot : units_) {
        c.valid += slot.rec.state == UnitState::kValid;
        c.failed += slot.rec.state == UnitState::kFailed;
    }
    std::set<std::size_t> running;
    for (const auto& [at, u, n] : leases_) {
        ++c.inFlightReplicas;
        running.insert(u);
    }
    c.running = running.size();
    c.workersConnected = connected_.size();
    return c;
}

const UnitRecord* Scheduler::unit(std::string_view unitId) const {
    auto it = index_.find(std::string(unitId));
    return it == index_.end() ? nullptr : &units_[it->second].rec;
}

const std::vector<ReplicaRecord>& Scheduler::replicas(std::string_view unitId) const {
    static const std::vector<ReplicaRecord> kNone;
    auto it = index_.find(std::string(unitId));
    return it == index_.end() ? kNone : units_[it->second].replicas;
}

std::vector<std::string> Scheduler::unitIds() const {
    std::vector<std::string> ids;
    ids.reserve(units_.size());
    for (const auto& slot : units_)
        ids.push_back(slot.rec.id);
    return ids;
}

Snapshot Scheduler::snapshot() const {
    Snapshot snap;
    snap.units.reserve(units_.size());
    for (const auto& slot : units_) {
        snap.units.push_back(slot.rec);
        snap.replicas.insert(snap.replicas.end(), slot.replicas.begin(), slot.replicas.end());
    }
    return snap;
}

void Scheduler::commit(StateBatch& batch) {
    if (!batch.empty())
        store_.commit(batch);
}

std::vector<std::pair<std::string, std::uint32_t>>
parseGivenBack(const std::vector<std::string>& entries) {
    std::vector<std::pair<std::string, std::uint32_t>> out;
    for (const auto& e : entries) {
        const auto slash = e.rfind('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == e.size())
            continue;
        std::uint32_t n = 0;
        const char* first = e.data() + slash + 1;
        const char* last = e.data() + e.size();
        auto [p, ec] = std::from_chars(first, last, n);
        if (ec != std::errc{} || p != last)
            continue;
        out.emplace_back(e.substr(0, slash), n);
    }
    return out;
}

} // namespace swarm::submitter

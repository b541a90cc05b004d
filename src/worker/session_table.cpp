#include "worker/session_table.hpp"

#include "wire/clock.hpp"
#include "wire/log.hpp"
#include "worker/worker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");
// A submitter that said it has no work says work-ready when it has some;
// it is asked again anyway after this long.
constexpr auto kRecheck = std::chrono::seconds(30);

std::string replicaKey(std::string_view unit, std::uint32_t replica) {
    return fmt::format("{}/{}", unit, replica);
}
} // namespace

SessionTable::SessionTable(const WorkerConfig& cfg, base::Executor& executor,
                           const wire::Clock& clock, SessionPort& port)
    : cfg_(cfg), executor_(executor), clock_(clock), port_(port), slots_(cfg.slots) {}

SessionTable::Entry* SessionTable::find(SessionId id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
}

void SessionTable::offered(dht::ReceivedOffer offer) {
    if (stopping_)
        return;
    offers_.push(std::move(offer));
    startSessions();
}

// Offers from a submitter being dialed, or whose session ended but still
// runs its last units, wait until that ends (OfferQueue).
void SessionTable::startSessions() {
    // A session that ended but still runs units of the same batch does not
    // hold the new one back: the new session takes their progress and
    // results (a submitter resumed after a crash).
    auto linkOf = [&](const dht::ReceivedOffer& offer) {
        auto state = OfferQueue::LinkState::kNone;
        for (const auto& [id, e] : sessions_) {
            if (e.offer.submitter != offer.submitter)
                continue;
            if (e.phase == Phase::kConnected)
                return OfferQueue::LinkState::kConnected;
            const bool sameBatch = e.phase == Phase::kEnding && !offer.offer.batchId.empty() &&
                                   e.offer.offer.batchId == offer.offer.batchId;
            if (!sameBatch)
                state = OfferQueue::LinkState::kDialing;
        }
        return state;
    };
    for (auto& offer : offers_.take(linkOf, clock_.nowMs())) {
        kLog.info("offer from {}{}", offer.submitter.shortStr(),
                  offer.submitterName.empty() ? "" : " (" + offer.submitterName + ")");
        const auto id = nextId_++;
        Entry e;
        e.weight = shareOf(cfg_, offer.submitter.str(), offer.submitterName);
        e.holder = slots_.join(e.weight);
        e.offer = std::move(offer);
        auto& entry = sessions_.emplace(id, std::move(e)).first->second;
        port_.dial(id, entry.offer);
    }
}

void SessionTable::connected(SessionId id) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kDialing)
        return;
    e->phase = Phase::kConnected;
    kLog.info("connected to submitter {} (weight {})", e->offer.submitter.shortStr(), e->weight);
    if (!e->offer.offer.batchId.empty()) {
        port_.deliverHeld(id);
        reportProgress(id);
    }
    shareOut();
}

void SessionTable::ended(SessionId id) {
    auto* e = find(id);
    if (!e)
        return;
    if (e->phase != Phase::kEnding) {
        e->phase = Phase::kEnding;
        port_.close(id, std::nullopt);
    }
    // No longer wanting work: its weight must not shrink the others'
    // shares while its last units run to their end.
    slots_.decline(e->holder, e->requested);
    e->requested = 0;
    maybeForget(id);
    shareOut();
}

// A session is dropped once its reader ended and its last unit with it.
void SessionTable::maybeForget(SessionId id) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kEnding || !e->running.empty() || !e->fetching.empty())
        return;
    kLog.info("session with submitter {} ended", e->offer.submitter.shortStr());
    slots_.leave(e->holder);
    sessions_.erase(id);
    port_.forget(id);
    if (!stopping_)
        startSessions();
}

void SessionTable::noWork(SessionId id, std::uint32_t slots) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kConnected)
        return;
    if (slots > e->requested)
        return breach(
            id, *e,
            fmt::format("handed back {} slot(s) but had {} asked for", slots, e->requested));
    e->requested -= slots;
    slots_.decline(e->holder, slots);
    e->quietUntil = executor_.now() + kRecheck;
    executor_.postAfter(kRecheck, [this] { shareOut(); });
    kLog.debug("submitter {} has no work for {} slot(s)", e->offer.submitter.shortStr(), slots);
    shareOut();
}

void SessionTable::workReady(SessionId id) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kConnected)
        return;
    e->quietUntil = {};
    kLog.info("submitter {} has work again", e->offer.submitter.shortStr());
    shareOut();
}

void SessionTable::cancelled(SessionId id, const wire::Cancel& cancel) {
    auto* e = find(id);
    if (!e)
        return;
    // A running container is killed (the runtime checks four times a
    // second); its result, "killed: cancelled", is no longer wanted.
    kLog.info("submitter cancelled {}/{}: {}", cancel.unitId, cancel.replica, cancel.reason);
    // The unit may run in an ended session whose news this one carries (a
    // resumed submitter cancels what its killed run started).
    const auto key = replicaKey(cancel.unitId, cancel.replica);
    for (auto& [other, o] : sessions_) {
        if (other != id && linkFor(o, other) != id)
            continue;
        if (auto it = o.running.find(key); it != o.running.end()) {
            it->second.stop.request_stop();
            return;
        }
    }
}

// An assign answers one slot asked for; one nobody asked for is a breach.
bool SessionTable::takeRequested(SessionId id, Entry& e) {
    if (e.requested == 0) {
        breach(id, e, "assigned work nobody asked for");
        return false;
    }
    --e.requested;
    e.quietUntil = {}; // it has work again
    return true;
}

AssignAnswer SessionTable::assigned(SessionId id, const wire::Assign& assign) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kConnected || !takeRequested(id, *e))
        return {AssignVerdict::kEnd};
    const auto key = replicaKey(assign.unitId, assign.replica);
    if (e->running.contains(key) || e->fetching.contains(key)) {
        freeSlot(*e);
        breach(id, *e, "assigned " + key + " again while it runs");
        return {AssignVerdict::kEnd};
    }
    if (stopping_ || !taking()) {
        // Asked for before the worker began stopping (its bye is built and
        // does not name this unit), before the window closed or before the
        // worker was suspended: handed back, not refused.
        giveBackUnstarted(id, *e, key, assign,
                          stopping_ ? "the worker is stopping"
                          : open_   ? notTakingWhy()
                                    : "outside the worker's schedule");
        return {AssignVerdict::kRefused};
    }
    auto admission = admit(assign, cfg_);
    if (!admission) {
        // The volunteer's own rule: the unit is not at fault (Result::refused).
        refuse(id, *e, assign, admission.error(), true);
        return {AssignVerdict::kRefused};
    }
    e->fetching.insert(key);
    return {AssignVerdict::kFetch, *admission};
}

// An assign the judge refused ends only that unit: a result with the reason
// when the unit it names is itself fine, else an error message; either way
// the slot is free again and the session goes on.
AssignVerdict SessionTable::refusedAssign(SessionId id, const std::optional<wire::UnitKey>& key,
                                          const std::string& why) {
    auto* e = find(id);
    if (!e || e->phase != Phase::kConnected || !takeRequested(id, *e))
        return AssignVerdict::kEnd;
    kLog.warn("submitter {}: refused assign: {}", e->offer.submitter.str(), why);
    ++refused_;
    if (key) {
        wire::Assign named;
        named.unitId = key->unitId;
        named.replica = key->replica;
        refuse(id, *e, named, "refused: " + why);
        return AssignVerdict::kRefused;
    }
    port_.send(id, wire::encodeMessage(
                       wire::ErrorMsg{.code = wire::kRefusedCode, .message = "refused: " + why}));
    ++failed_;
    freeSlot(*e);
    return AssignVerdict::kRefused;
}

void SessionTable::refuse(SessionId id, Entry& e, const wire::Assign& assign,
                          const std::string& why, bool byPolicy) {
    kLog.warn("refusing {}/{}: {}", assign.unitId, assign.replica, why);
    wire::Result r;
    r.unitId = assign.unitId;
    r.replica = assign.replica;
    r.error = why;
    r.refused = byPolicy;
    port_.send(id, wire::encodeMessage(r));
    ++failed_;
    freeSlot(e);
}

void SessionTable::fetched(SessionId id, wire::Assign assign, const Admission& admission,
                           Fetched result) {
    auto* e = find(id);
    if (!e)
        return;
    auto key = replicaKey(assign.unitId, assign.replica);
    e->fetching.erase(key);
    // Stopping, its bye names the unit.
    if (result.outcome == Fetched::Outcome::kBroken || e->phase == Phase::kEnding || stopping_) {
        port_.unpin(std::move(result.pinned));
        freeSlot(*e);
        maybeForget(id);
        return;
    }
    if (result.outcome == Fetched::Outcome::kFailed) {
        refuse(id, *e, assign, result.error);
        return;
    }
    if (!taking()) {
        port_.unpin(std::move(result.pinned));
        giveBackUnstarted(id, *e, key, assign, notTakingWhy());
        return;
    }
    auto& running = e->running[key];
    running.unitId = assign.unitId;
    running.replica = assign.replica;
    running.startedMs = clock_.nowMs();
    running.timeoutMs = admission.limits.timeout.count();
    port_.run(id, std::move(assign), admission.limits, std::move(result.pinned),
              running.stop.get_token(), running.giveBack.get_token());
    shareOut(); // the session was busy fetching: it may ask now
}

void SessionTable::unitEnded(SessionId id, const std::string& key, bool delivered, bool succeeded) {
    auto* e = find(id);
    if (!e)
        return;
    e->running.erase(key);
    ++(delivered && succeeded ? done_ : failed_);
    freeSlot(*e);
    closeIfGivenBack(id, *e);
    maybeForget(id);
}

// A stopping worker's bye goes out once the session's running units were
// given back (their give-backs precede it on the stream).
void SessionTable::closeIfGivenBack(SessionId id, Entry& e) {
    if (!e.byeOwed || !e.running.empty())
        return;
    e.phase = Phase::kEnding;
    port_.close(id, std::exchange(e.byeOwed, std::nullopt));
}

void SessionTable::giveBackUnstarted(SessionId id, Entry& e, const std::string& key,
                                     const wire::Assign& assign, const std::string& why) {
    kLog.info("giving back {}: {}", key, why);
    wire::Result r;
    r.unitId = assign.unitId;
    r.replica = assign.replica;
    r.givenBack = true;
    r.error = why;
    port_.send(id, wire::encodeMessage(r));
    freeSlot(e);
}

void SessionTable::setOpen(bool open) {
    if (open == open_)
        return;
    open_ = open;
    if (open) {
        kLog.info("schedule window open: asking for work");
        shareOut();
        return;
    }
    // Units of ended sessions run on: their results are held for the
    // submitter (there is no session to give them back on).
    std::size_t n = 0;
    for (auto& [id, e] : sessions_)
        if (e.phase == Phase::kConnected)
            for (auto& [key, run] : e.running)
                n += run.giveBack.request_stop();
    kLog.info("schedule window closed: giving back {} running unit(s)", n);
}

std::string SessionTable::notTakingWhy() const {
    return open_ ? "the worker is suspended" : "the worker's schedule window closed";
}

void SessionTable::setSuspended(bool suspended) {
    if (suspended == suspended_)
        return;
    suspended_ = suspended;
    kLog.info("{}", suspended ? "suspended: no new work, running units frozen"
                              : "resumed: asking for work");
    const auto now = clock_.nowMs();
    if (suspended)
        suspendedAtMs_ = now;
    else
        for (auto& [id, e] : sessions_)
            for (auto& [key, run] : e.running)
                run.frozenMs += now - std::max(suspendedAtMs_, run.startedMs);
    // The submitters hear at once, not at the next periodic progress.
    if (!stopping_)
        reportAllProgress();
    shareOut();
}

bool SessionTable::keepResult(SessionId id, const std::string& key) const {
    auto it = sessions_.find(id);
    if (stopping_ || it == sessions_.end() || it->second.offer.offer.batchId.empty())
        return false;
    auto run = it->second.running.find(key);
    return run != it->second.running.end() && !run->second.stop.stop_requested() &&
           !run->second.giveBack.stop_requested();
}

void SessionTable::resultHeld(const wire::PeerId& submitter, const std::string& batch) {
    for (const auto& [id, e] : sessions_)
        if (e.phase == Phase::kConnected && e.offer.submitter == submitter &&
            e.offer.offer.batchId == batch)
            return port_.deliverHeld(id);
}

// The session that carries news of `e`'s units: `e` itself while
// connected, else the newest connected session of the same submitter and
// batch.
std::optional<SessionId> SessionTable::linkFor(const Entry& e, SessionId own) const {
    if (e.phase == Phase::kConnected)
        return own;
    if (e.offer.offer.batchId.empty())
        return std::nullopt;
    std::optional<SessionId> found;
    for (const auto& [id, other] : sessions_)
        if (other.phase == Phase::kConnected && other.offer.submitter == e.offer.submitter &&
            other.offer.offer.batchId == e.offer.offer.batchId)
            found = id;
    return found;
}

void SessionTable::sendProgress(SessionId to, const Running& run) {
    wire::Progress p;
    p.unitId = run.unitId;
    p.replica = run.replica;
    p.state = suspended_ ? "suspended" : "running";
    p.elapsedMs = std::max<std::int64_t>(0, clock_.nowMs() - run.startedMs);
    port_.send(to, wire::encodeMessage(p));
}

// Once a session connects: the units of its submitter and batch that run
// now (in it or in an ended session) are reported to it.
void SessionTable::reportProgress(SessionId to) {
    for (const auto& [id, e] : sessions_)
        if (linkFor(e, id) == to)
            for (const auto& [key, run] : e.running)
                sendProgress(to, run);
}

void SessionTable::tick() {
    const auto now = clock_.nowMs();
    if (suspended_ && !stopping_)
        giveBackLongFrozen(now);
    if (!stopping_ && now - progressAtMs_ >= kProgressEveryMs)
        reportAllProgress();
    shareOut();
}

// A unit frozen in all for longer than its timeout goes back, with its
// checkpoint, to be finished elsewhere: long before its submitter stops
// extending its lease (four lease spans, each longer than the timeout).
void SessionTable::giveBackLongFrozen(std::int64_t now) {
    for (auto& [id, e] : sessions_) {
        if (e.phase != Phase::kConnected)
            continue; // its result is held; nobody to give it back to
        for (auto& [key, run] : e.running) {
            const auto frozen = run.frozenMs + now - std::max(suspendedAtMs_, run.startedMs);
            if (frozen > run.timeoutMs && !run.giveBack.stop_requested()) {
                kLog.info("giving back {}: suspended for {} s, longer than its timeout", key,
                          frozen / 1000);
                run.giveBack.request_stop();
            }
        }
    }
}

void SessionTable::reportAllProgress() {
    progressAtMs_ = clock_.nowMs();
    for (const auto& [id, e] : sessions_)
        if (auto to = linkFor(e, id))
            for (const auto& [key, run] : e.running)
                sendProgress(*to, run);
}

void SessionTable::drained(SessionId id) {
    if (find(id))
        shareOut();
}

void SessionTable::freeSlot(Entry& e) {
    slots_.release(e.holder, 1);
    shareOut();
}

void SessionTable::breach(SessionId id, Entry& e, const std::string& what) {
    kLog.warn("submitter {} {}; ending the session", e.offer.submitter.shortStr(), what);
    ended(id);
}

// Every session asks for the free slots it may take (SlotPool: its share
// while other submitters want work too). A session below its share that
// cannot ask now (it is sending or fetching) is skipped: the others may
// borrow its slots meanwhile, one at a time in turn, so no slot idles while
// a submitter has work. It gets the next slot that frees once it asks.
void SessionTable::shareOut() {
    if (stopping_ || !taking())
        return;
    bool skipped = false;
    for (auto& [id, e] : sessions_)
        skipped = !request(id, e, false) || skipped;
    for (bool progress = skipped; progress && slots_.free() > 0;) {
        const auto before = slots_.free();
        for (auto& [id, e] : sessions_)
            request(id, e, true);
        progress = slots_.free() < before;
    }
}

// Returns false if `e` could not ask now while it is owed slots.
bool SessionTable::request(SessionId id, Entry& e, bool borrow) {
    if (e.phase != Phase::kConnected || executor_.now() < e.quietUntil)
        return true;
    // Fetching inputs, its reader holds the stream: a request would wait.
    if (!e.fetching.empty() || !port_.ready(id))
        return !slots_.owed(e.holder);
    const auto n = slots_.reserve(e.holder, borrow ? 1 : cfg_.slots, borrow);
    if (n == 0)
        return true;
    port_.send(id, wire::encodeMessage(wire::RequestWork{.slots = n}));
    e.requested += n;
    return true;
}

void SessionTable::stop() {
    stopping_ = true;
    slots_.close();
    for (auto& [id, e] : sessions_) {
        if (e.phase != Phase::kConnected) {
            // No session to give them back on: they end now.
            for (auto& [key, run] : e.running)
                run.stop.request_stop();
            if (e.phase == Phase::kDialing) {
                e.phase = Phase::kEnding;
                port_.close(id, std::nullopt);
            }
            continue;
        }
        // Running units are given back one by one, each with its
        // checkpoint; units whose inputs still come were not started: the
        // bye names them.
        wire::Bye bye;
        bye.reason = "worker stopping";
        bye.givenBack.assign(e.fetching.begin(), e.fetching.end());
        for (auto& [key, run] : e.running)
            run.giveBack.request_stop();
        kLog.info("giving back {} unit(s) to {}", bye.givenBack.size() + e.running.size(),
                  e.offer.submitter.shortStr());
        e.byeOwed = std::move(bye);
        closeIfGivenBack(id, e);
    }
    std::vector<SessionId> ids;
    for (const auto& [id, e] : sessions_)
        ids.push_back(id);
    for (auto id : ids)
        maybeForget(id);
}

void SessionTable::collect(WorkerStatus& st) const {
    const auto now = clock_.nowMs();
    for (const auto& [id, e] : sessions_) {
        if (e.phase == Phase::kConnected)
            st.submitters.push_back(e.offer.submitter.str());
        for (const auto& [key, run] : e.running)
            st.running.push_back(UnitStatus{e.offer.submitter.str(), key, now - run.startedMs});
    }
    st.done = done_;
    st.failed = failed_;
    st.refused = refused_;
    st.stopping = stopping_;
}

} // namespace swarm::worker

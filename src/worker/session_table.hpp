#pragma once

#include "base/executor.hpp"
#include "dht/offer_box.hpp"
#include "sandbox/container_runtime.hpp"
#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"
#include "worker/admission.hpp"
#include "worker/offer_queue.hpp"
#include "worker/slot_pool.hpp"
#include "worker/worker_config.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

namespace swarm::wire {
class Clock;
}

namespace swarm::worker {

struct WorkerStatus;
using SessionId = std::uint64_t;

/// What the table has done on the sessions' connections. Called on the
/// table's executor; every call returns at once (a send is queued, a dial
/// or a unit runs on a thread of the session's own).
class SessionPort {
public:
    virtual ~SessionPort() = default;
    /// Dials the submitter of `offer`; the session then reports connected()
    /// or ended().
    virtual void dial(SessionId id, const dht::ReceivedOffer& offer) = 0;
    /// Queues one encoded message.
    virtual void send(SessionId id, wire::Bytes payload) = 0;
    /// True if a message queued now goes out at once: the session is not
    /// sending or fetching, so its submitter reads what it is sent. When a
    /// session that was not ready becomes so, it reports it (drained(),
    /// fetched() or unitEnded()).
    virtual bool ready(SessionId id) const = 0;
    /// Runs an admitted unit whose inputs are fetched (and pinned) on a
    /// thread of its own; reports unitEnded() after sending its result.
    /// `stop` cancels it; `giveBack` gives it back with its checkpoint
    /// (UnitRunner::run()).
    virtual void run(SessionId id, wire::Assign assign, sandbox::Limits limits,
                     std::vector<wire::Digest> pinned, std::stop_token stop,
                     std::stop_token giveBack) = 0;
    /// Sends, on a thread of the session's own and under its send lock,
    /// every result held (HeldResults) for its submitter and batch, each
    /// exactly like a live one, and removes each once sent.
    virtual void deliverHeld(SessionId id) = 0;
    /// Gives back the cache pins of a unit that will not run.
    virtual void unpin(std::vector<wire::Digest> pinned) = 0;
    /// Sends what is queued, then `last` if given, and ends the session: its
    /// reader stops handling messages, and nothing is sent after `last` (a
    /// unit that ends later keeps its result).
    virtual void close(SessionId id, std::optional<wire::Bye> last) = 0;
    /// The session ended and its last unit too: its threads end soon (a
    /// writer may still be sending) and may be joined off the loop.
    virtual void forget(SessionId id) = 0;
};

/// What a session's reader does with an assign it read.
enum class AssignVerdict {
    kFetch,   ///< admitted: fetch its inputs, then report fetched()
    kRefused, ///< answered with a refusal; read on
    kEnd,     ///< a protocol breach: the session is being closed
};

/// The table's word on an assign the judge let through.
struct AssignAnswer {
    AssignVerdict verdict = AssignVerdict::kEnd;
    Admission admission{}; ///< kFetch: what the unit is granted
};

/// How fetching an admitted unit's inputs went.
struct Fetched {
    enum class Outcome { kOk, kFailed, kBroken } outcome = Outcome::kOk;
    std::string error;                ///< kFailed: why, for the refusal
    std::vector<wire::Digest> pinned; ///< kOk: held in the cache for the unit
};

/// Every session with a submitter and the worker's slots, owned by one
/// executor: all methods run there (a session's reader and unit threads
/// post to it), so its state needs no lock, and nothing here waits on a
/// peer.
///
/// It decides what each session asks for (SlotPool: shares between
/// submitters, borrowing for a session that cannot ask now), which offers
/// are dialed (OfferQueue), what an assign gets (admit()), which unit a
/// cancel stops, and what a stopping worker gives back. It keeps the
/// counters `status` shows. What it decides goes out through SessionPort.
class SessionTable {
public:
    SessionTable(const WorkerConfig& cfg, base::Executor& executor, const wire::Clock& clock,
                 SessionPort& port);

    /// A fresh offer from a trusted submitter (the inbox's).
    void offered(dht::ReceivedOffer offer);
    void connected(SessionId id);
    /// The session's reader stopped (dial failed, peer left), or the table
    /// ended it (a breach): nothing more is asked; units still running
    /// finish.
    void ended(SessionId id);

    void noWork(SessionId id, std::uint32_t slots);
    void workReady(SessionId id);
    void cancelled(SessionId id, const wire::Cancel& cancel);
    /// An assign the judge let through.
    AssignAnswer assigned(SessionId id, const wire::Assign& assign);
    /// An assign the judge refused; `key` names its unit if that part of it
    /// was sound.
    AssignVerdict refusedAssign(SessionId id, const std::optional<wire::UnitKey>& key,
                                const std::string& why);
    void fetched(SessionId id, wire::Assign assign, const Admission& admission, Fetched result);
    void unitEnded(SessionId id, const std::string& key, bool delivered, bool succeeded);
    /// A unit of `id` ended but its result could not be sent (the session
    /// is gone): true if the worker keeps it for a later session of the
    /// same submitter and batch; false when the submitter cancelled the
    /// unit, the worker is stopping (it was given back) or the offer named
    /// no batch. Ask before unitEnded().
    bool keepResult(SessionId id, const std::string& key) const;
    /// A result for (`submitter`, `batch`) was kept: a connected session of
    /// theirs, if any, is sent it at once.
    void resultHeld(const wire::PeerId& submitter, const std::string& batch);
    /// The session sent all it had queued: it may ask again.
    void drained(SessionId id);
    /// Now and then (every second or so): sessions that could not ask
    /// (their submitter was not reading) ask again, and every kProgressEvery
    /// each running unit's progress goes to a connected session of its
    /// submitter and batch (its own, or a newer one).
    void tick();
    /// A message from a submitter was refused (counted for `status`).
    void countRefused() { ++refused_; }

    /// Gives back what runs, each unit with its checkpoint (units not
    /// started yet in the bye), and closes every session once its units
    /// are given back; offers are dropped. Units of sessions already ended
    /// are cancelled.
    void stop();
    /// The worker's schedule (Schedule): while closed no work is asked for
    /// or admitted, and when it closes every running unit is given back
    /// with its checkpoint. Open at first.
    void setOpen(bool open);
    bool isOpen() const { return open_; }
    /// The worker is suspended (Suspension): like a closed window no work
    /// is asked for or admitted (an assign or a unit whose inputs arrive is
    /// given back, naming the suspension), but running units stay: the
    /// worker freezes them, and their progress says "suspended" (sent at
    /// once, then every kProgressEveryMs) so that their leases are kept.
    /// On resume their progress says "running" again at once.
    void setSuspended(bool suspended);
    bool isSuspended() const { return suspended_; }
    /// No session left (all forgotten).
    bool empty() const { return sessions_.empty(); }
    /// Slots free for work now: none while the schedule is closed or the
    /// worker is suspended.
    std::uint32_t freeSlots() const { return taking() ? slots_.free() : 0; }
    /// Fills the session part of a status snapshot.
    void collect(WorkerStatus& status) const;

private:
    struct Running {
        std::string unitId;
        std::uint32_t replica = 0;
        std::int64_t startedMs = 0;
        std::int64_t timeoutMs = 0;
        std::int64_t frozenMs = 0; // in earlier suspensions
        std::stop_source stop;
        std::stop_source giveBack;
    };
    enum class Phase { kDialing, kConnected, kEnding };
    struct Entry {
        dht::ReceivedOffer offer;
        std::uint32_t weight = 1;
        SlotPool::Holder holder = 0;
        Phase phase = Phase::kDialing;
        std::uint32_t requested = 0;                    // slots asked for, not yet assigned
        std::set<std::string> fetching;                 // admitted units whose inputs come
        base::Executor::Clock::time_point quietUntil{}; // no request before: it had no work
        std::map<std::string, Running> running;
        std::optional<wire::Bye> byeOwed; // stop(): sent once its units are given back
    };

    Entry* find(SessionId id);
    void startSessions();
    void shareOut();
    bool request(SessionId id, Entry& e, bool borrow);
    bool takeRequested(SessionId id, Entry& e);
    /// Answers `assign` with an error result; `byPolicy`: refused by the
    /// volunteer's rules before it ran (wire::Result::refused).
    void refuse(SessionId id, Entry& e, const wire::Assign& assign, const std::string& why,
                bool byPolicy = false);
    void breach(SessionId id, Entry& e, const std::string& what);
    void freeSlot(Entry& e);
    /// Answers an admitted unit that will not run now with a bare give-back.
    void giveBackUnstarted(SessionId id, Entry& e, const std::string& key,
                           const wire::Assign& assign, const std::string& why);
    void giveBackLongFrozen(std::int64_t now);
    void closeIfGivenBack(SessionId id, Entry& e);
    void maybeForget(SessionId id);
    std::optional<SessionId> linkFor(const Entry& e, SessionId own) const;
    void sendProgress(SessionId to, const Running& run);
    void reportProgress(SessionId to);
    void reportAllProgress();
    /// Work may be asked for and admitted: open and not suspended.
    bool taking() const { return open_ && !suspended_; }
    /// Why an admitted unit is given back unstarted now.
    std::string notTakingWhy() const;

    const WorkerConfig& cfg_;
    base::Executor& executor_;
    const wire::Clock& clock_;
    SessionPort& port_;
    SlotPool slots_;
    OfferQueue offers_;
    std::map<SessionId, Entry> sessions_;
    SessionId nextId_ = 1;
    bool stopping_ = false;
    bool open_ = true;
    bool suspended_ = false;
    std::int64_t suspendedAtMs_ = 0;
    std::uint64_t done_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t refused_ = 0;
    std::int64_t progressAtMs_ = 0; // when progress went out last
};

/// How often the worker tells a submitter its units still run.
inline constexpr std::int64_t kProgressEveryMs = 15'000;

} // namespace swarm::worker

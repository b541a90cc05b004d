#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace swarm::worker {

/// A worker's slots, shared by its sessions (one per submitter).
///
/// A session reserves slots before it asks its submitter for units and
/// releases one as each of its units ends. While several sessions want
/// work, each may hold at most its share: slots × its weight / the weights
/// of all sessions that want work, rounded up (equal weights: slots /
/// wanting). A free slot goes first to the session below its share that
/// holds least for its weight. A
/// session wants work from the time it reserves until its submitter says
/// it has none (`decline`). Running units are never taken away: a session
/// above its share (it had the worker to itself) comes down to it as its
/// units end, and the slots it frees go to the others. Whenever a slot is
/// free, some session that wants work is below its share; if that session
/// cannot ask just then (its thread is busy sending), another may borrow
/// the slot, so no slot idles while a submitter has work for it.
/// Thread-safe.
class SlotPool {
public:
    using Holder = std::uint64_t;

    explicit SlotPool(std::uint32_t slots) : slots_(slots), free_(slots) {}

    /// A new session, holding nothing and not wanting work yet; `weight`
    /// (at least 1) sets its share against the others'.
    Holder join(std::uint32_t weight = 1);
    /// Reserves up to `want` free slots for `h`, no more than takes it to
    /// its share unless `borrow` (for when a session below its share cannot
    /// ask now); `h` now wants work. 0 once closed.
    std::uint32_t reserve(Holder h, std::uint32_t want, bool borrow = false);
    /// `h` gives back `n` of the slots it holds (a unit ended or was
    /// refused, a request was dropped).
    void release(Holder h, std::uint32_t n);
    /// `h`'s submitter has no unit for `n` of its reserved slots: they are
    /// released and `h` stops wanting work until it reserves again.
    void decline(Holder h, std::uint32_t n);
    /// `h`'s session ended: whatever it still holds is freed.
    void leave(Holder h);
    /// The worker is stopping: every later reserve gets nothing.
    void close();

    std::uint32_t free() const;
    std::uint32_t held(Holder h) const;
    bool wants(Holder h) const;
    /// True if `h` wants work and holds less than its share.
    bool owed(Holder h) const;
    /// What `h` may hold now, were it to want work.
    std::uint32_t share(Holder h) const;

private:
    struct Session {
        std::uint32_t held = 0;
        std::uint32_t weight = 1;
        bool wanting = false;
    };
    std::uint32_t shareLocked(const Session& s) const;
    void releaseLocked(Session& s, std::uint32_t n);

    mutable std::mutex mutex_;
    const std::uint32_t slots_;
    std::uint32_t free_;
    bool closed_ = false;
    Holder next_ = 1;
    std::map<Holder, Session> sessions_;
};

} // namespace swarm::worker

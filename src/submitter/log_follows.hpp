#pragma once

#include "submitter/scheduler_store.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace swarm::submitter {

/// Who follows which running replica's output (`swarm-submit logs --follow`
/// through the control socket), between the control socket's threads, which
/// follow, and the worker sessions, which send follow on/off and deliver the
/// worker's log-chunks. A chunk is taken only from the worker a follow was
/// sent to, for that replica, with offsets moving forward; anything else is
/// dropped. Thread-safe.
class LogFollows {
public:
    /// What a follower reads: bytes of one stream, or the end.
    struct Event {
        std::string stream; ///< "stdout" or "stderr"
        std::uint64_t offset = 0;
        std::string data;
        std::uint64_t skipped = 0; ///< bytes of this stream missed before `data`
        bool truncated = false;    ///< the worker's log cap dropped the stream's later bytes
        bool end = false;          ///< the replica ended, or its worker left
    };

    /// One follow of one replica. Its events are bounded (kQueueBytes):
    /// what a reader too slow to keep up misses shows as `skipped`.
    class Follower {
    public:
        static constexpr std::size_t kQueueBytes = 1 << 20;
        /// Waits up to `timeout` for events; empty on timeout.
        std::vector<Event> wait(std::chrono::milliseconds timeout);

    private:
        friend class LogFollows;
        void push(Event e);
        std::mutex m_;
        std::condition_variable cv_;
        std::vector<Event> queue_;
        std::size_t queued_ = 0;
        std::map<std::string, std::uint64_t> next_; // by stream: the offset expected
        bool ended_ = false;
    };

    /// A worker's session started; `canFollow`: its hello says it
    /// understands follow (wire::Hello::kWithFollow).
    void workerConnected(const WorkerId& wid, bool canFollow);
    /// Its session ended: its followers get an end.
    void workerLeft(const WorkerId& wid);
    bool canFollow(const WorkerId& wid) const;

    /// Follows `unitId`/`replica` on `wid`, which must hold it: a follow is
    /// owed to `wid` (every new follower asks again, so it gets what the
    /// worker still keeps). nullptr if `wid` cannot follow.
    std::shared_ptr<Follower> follow(const WorkerId& wid, const std::string& unitId,
                                     std::uint32_t replica);
    /// Stops `follower`; the last one of a replica owes its worker a follow off.
    void stop(const std::shared_ptr<Follower>& follower);
    /// The follows owed to `wid`, taken.
    std::vector<wire::Follow> owed(const WorkerId& wid);
    /// A log-chunk from `wid`: false when nobody follows that replica there
    /// (dropped).
    bool deliver(const WorkerId& wid, const wire::LogChunk& chunk);

private:
    using Key = std::tuple<WorkerId, std::string, std::uint32_t>;
    static void endAll(std::vector<std::shared_ptr<Follower>>& followers);

    mutable std::mutex m_;
    std::set<WorkerId> canFollow_;
    std::map<Key, std::vector<std::shared_ptr<Follower>>> follows_;
    std::map<WorkerId, std::vector<wire::Follow>> owed_;
};

} // namespace swarm::submitter

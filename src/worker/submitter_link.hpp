#pragma once

#include "dht/offer_box.hpp"
#include "sandbox/container_runtime.hpp"
#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"
#include "worker/session_images.hpp"
#include "worker/session_table.hpp"
#include "worker/unit_threads.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace swarm::base {
class EventLoop;
}
namespace swarm::net {
class BlobStore;
class Session;
} // namespace swarm::net

namespace swarm::worker {

struct WorkerConfig;
struct WorkerDeps;
class HeldResults;
struct HeldResult;
class ProvenBlobs;
class LiveLog;

/// What every session's I/O borrows from the worker.
struct LinkContext {
    const WorkerConfig& cfg;
    const WorkerDeps& deps;
    net::BlobStore& store;
    ProvenBlobs& proven;
    HeldResults& held;     ///< results kept while their session is gone
    base::EventLoop& loop; ///< where `table` runs
    SessionTable& table;
    std::string selfId;
    std::atomic<std::uint64_t> workDirs{0}; ///< names the units' work directories
    /// The worker's freeze switch, followed by every running unit.
    sandbox::FreezeControl* freeze = nullptr;
};

/// The connection to one submitter: a reader thread that dials, reads and
/// fetches inputs, a writer thread that sends what the table queues, and a
/// thread per running unit, which sends its own result. Protocol only:
/// every decision is the SessionTable's, asked on its loop.
///
/// Threads: send(), ready(), run() and close() are called on the loop;
/// join() from any other thread once the table forgot the session.
class SubmitterLink : public std::enable_shared_from_this<SubmitterLink> {
public:
    SubmitterLink(LinkContext& ctx, SessionId id, dht::ReceivedOffer offer);
    ~SubmitterLink();
    SubmitterLink(const SubmitterLink&) = delete;
    SubmitterLink& operator=(const SubmitterLink&) = delete;

    /// Starts the reader (dial, then read) and the writer.
    void start();
    void send(wire::Bytes payload);
    bool ready() const;
    void run(wire::Assign assign, sandbox::Limits limits, std::vector<wire::Digest> pinned,
             std::stop_token stop, std::stop_token giveBack);
    void close(std::optional<wire::Bye> last);
    /// Sends the results held for this session's submitter and batch, on a
    /// thread of its own (SessionPort::deliverHeld).
    void deliverHeld();
    /// Waits for every thread of the session and closes its connection.
    void join();

private:
    void readerMain();
    bool dial();
    void serve();
    bool dispatch(wire::RawMessage& msg);
    template <typename T> std::optional<T> read(const wire::RawMessage& msg);
    bool onAssign(const wire::RawMessage& msg);
    void onFollow(const wire::Follow& follow);
    void pump(const wire::Follow& follow, std::shared_ptr<LiveLog> live);
    void startPump(const wire::Follow& follow, const std::shared_ptr<LiveLog>& live);
    bool fetch(const wire::Assign& assign, bool shipped, Fetched& out);
    void writerMain();
    void endSending();
    void runUnit(const wire::Assign& assign, const sandbox::Limits& limits,
                 const std::vector<wire::Digest>& pinned, std::stop_token stop,
                 std::stop_token giveBack);
    bool sendResult(const wire::Result& result);
    void keepResult(const wire::Result& result, const std::string& key);
    void sendHeld();
    bool sendHeldOne(const HeldResult& held);
    template <typename F> void post(F task);

    LinkContext& ctx_;
    const SessionId id_;
    const dht::ReceivedOffer offer_;
    std::unique_ptr<net::Session> session_; // set by the reader before connected()

    // One sender at a time: the writer, a fetch, a unit returning its result.
    std::mutex sendMutex_;
    bool closed_ = false;      // nothing more goes out (guarded by sendMutex_)
    std::atomic<int> busy_{0}; // threads sending or fetching now
    std::atomic<bool> ending_{false};
    std::atomic<bool> closeAsked_{false}; // the table closed the session

    mutable std::mutex queueMutex_; // guards queue_, last_, closing_
    std::condition_variable queueCv_;
    std::deque<wire::Bytes> queue_;
    std::optional<wire::Bye> last_;
    bool closing_ = false;

    std::vector<std::future<void>> stragglers_; // dial attempts that lost the race
    std::deque<wire::RawMessage> pending_;      // read during a fetch, handled after
    SessionImages images_;                      // the image ids this session's units run
    std::mutex liveMutex_;                      // guards live_
    // The running units' live output, by "unitId/replica" (follow).
    std::map<std::string, std::shared_ptr<LiveLog>> live_;
    // Followed before they started (still fetching, say): followed when
    // they do. Bounded; a follow for a replica this session never runs
    // stays here until turned off or the session ends.
    std::set<std::string> followSoon_;
    std::thread reader_;
    std::thread writer_;
    // Last, so destroyed first: no unit thread outlives what it uses.
    UnitThreads unitThreads_;
};

} // namespace swarm::worker

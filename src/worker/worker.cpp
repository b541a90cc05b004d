#include "worker/worker.hpp"

#include "base/json_writer.hpp"
#include "dht/announcer.hpp"
#include "dht/inbox.hpp"
#include "dht/node.hpp"
#include "dht/offer_box.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/credentials.hpp"
#include "net/dialer.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/image_store.hpp"
#include "sandbox/unit_spec.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"
#include "worker/admission.hpp"
#include "worker/capacity.hpp"
#include "worker/offer_queue.hpp"
#include "worker/session_images.hpp"
#include "worker/slot_pool.hpp"
#include "worker/unit_runner.hpp"
#include "worker/unit_threads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");
constexpr const char* kSoftware = "swarm-worker/0.1.0";
constexpr auto kPoll = std::chrono::milliseconds(200);
// A submitter that said it has no work says work-ready when it has some;
// it is asked again anyway after this long.
constexpr auto kRecheck = std::chrono::seconds(30);

std::string replicaKey(std::string_view unit, std::uint32_t replica) {
    return fmt::format("{}/{}", unit, replica);
}

// A copy of a message whose storage outlives the receive that produced it.
wire::RawMessage cloneMessage(const wire::RawMessage& raw) {
    wire::RawMessage copy;
    copy.type = raw.type;
    copy.handle = msgpack::clone(raw.body);
    copy.body = copy.handle.get();
    return copy;
}

} // namespace

class Link;

struct Worker::State {
    State(WorkerConfig c, WorkerDeps d)
        : cfg(std::move(c)), deps(std::move(d)),
          selfId(wire::PeerId(deps.identity.publicKey()).str()) {}

    WorkerConfig cfg;
    WorkerDeps deps;
    std::string selfId;
    std::unique_ptr<net::BlobStore> store;

    mutable std::mutex mutex;
    std::condition_variable cv;
    OfferQueue offers;
    std::list<std::shared_ptr<Link>> links;
    std::unique_ptr<SlotPool> slots; // made when run() starts
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    std::uint64_t refused = 0;  // messages the judge refused
    std::uint64_t workDirs = 0; // names the units' work directories
    bool stopRequested = false;
    bool stopping = false;
    std::unique_ptr<dht::Inbox> inbox;

    // Blobs each submitter (by peer id) sent us or its own units produced:
    // only those are handed to its units without being sent again. Knowing
    // another submitter's digest is not proof of having the content. Kept
    // in memory: after a restart every blob is sent once more.
    std::map<std::string, std::set<wire::Digest>> proven;
    bool hasProven(const std::string& peer, const wire::Digest& d) const {
        std::lock_guard lock(mutex);
        auto it = proven.find(peer);
        return it != proven.end() && it->second.contains(d);
    }
    void prove(const std::string& peer, const std::vector<wire::Digest>& digests) {
        static constexpr std::size_t kMaxProven = 1 << 20; // then start over
        std::lock_guard lock(mutex);
        auto& set = proven[peer];
        if (set.size() + digests.size() > kMaxProven)
            set.clear();
        set.insert(digests.begin(), digests.end());
    }

    void serve(dht::Announcer& announcer, wire::CapacityRecord& record);
    void startSessions();
    void shutDown(dht::Announcer& announcer);

    // Lets every session ask for the slots that are free now (a unit ended
    // or was refused, a submitter had no work, a session ended): a slot its
    // own session may not take, being above its share, goes to another
    // without waiting for that session's next poll.
    void offerFreeSlots();
};

/// One session with one submitter: the thread that reads it, the threads
/// that run its units.
class Link : public std::enable_shared_from_this<Link> {
public:
    Link(Worker::State& w, dht::ReceivedOffer offer)
        : w_(w), offer_(std::move(offer)),
          weight_(shareOf(w.cfg, offer_.submitter.str(), offer_.submitterName)),
          holder_(w.slots->join(weight_)) {}

    void start() {
        thread_ = std::thread([self = shared_from_this()] { self->main(); });
    }
    const wire::PeerId& submitter() const { return offer_.submitter; }
    bool finished() const { return finished_; }
    void stop() { stop_ = true; }
    void join() {
        if (thread_.joinable())
            thread_.join();
    }
    bool connected() const { return connected_; }
    void collect(std::vector<UnitStatus>& out, std::int64_t nowMs) const {
        std::lock_guard lock(mutex_);
        for (const auto& [key, started] : running_)
            out.push_back(UnitStatus{offer_.submitter.str(), key, nowMs - started});
    }
    /// Asks the submitter for units for the free slots this session may
    /// take (`borrow`: one free slot, whatever its share). `wait`: false
    /// from other threads, which skip a session whose thread is busy
    /// sending or whose submitter is not reading (its socket is full: the
    /// request would hold the calling thread); returns false if it was so
    /// skipped while it wants work below its share.
    bool requestMore(bool wait = true, bool borrow = false);

private:
    void main();
    bool dial();
    void serve();
    bool dispatch(wire::RawMessage& msg);
    template <typename T> std::optional<T> read(const wire::RawMessage& msg);
    bool refuseAssign(const wire::RawMessage& msg, const wire::Error& why);
    bool takeRequested();
    bool handleAssign(wire::Assign assign);
    void refuse(const wire::Assign& assign, const std::string& why);
    void runUnit(wire::Assign assign, sandbox::Limits limits, std::vector<wire::Digest> pinned,
                 std::stop_token stop);
    bool sendResult(const wire::Result& result);
    void giveBack();
    bool noWork(const wire::NoWork& none);
    void workReady();

    Worker::State& w_;
    dht::ReceivedOffer offer_;
    const std::uint32_t weight_;    // its share against other submitters'
    const SlotPool::Holder holder_; // this session's slots in w_.slots
    std::thread thread_;
    std::unique_ptr<net::Session> session_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> finished_{false};
    std::atomic<bool> connected_{false};

    // One sender at a time; guards session_, closed_, requested_, quietUntil_.
    std::mutex sendMutex_;
    bool closed_ = false;
    std::uint32_t requested_ = 0; // slots asked for and not yet assigned
    // No request before quietUntil_: the submitter said it had no work.
    std::chrono::steady_clock::time_point quietUntil_{};

    mutable std::mutex mutex_;                      // guards running_, stops_
    std::map<std::string, std::int64_t> running_;   // "unit/replica" -> start ms
    std::map<std::string, std::stop_source> stops_; // "unit/replica" -> its cancel switch

    std::deque<wire::RawMessage> pending_;
    SessionImages images_; // the image ids this session's units run
    // Last, so destroyed first: no unit thread outlives what it uses.
    UnitThreads unitThreads_;
};

void Link::main() {
    const auto who = offer_.submitter.shortStr();
    if (dial()) {
        connected_ = true;
        kLog.info("connected to submitter {} ({}, weight {})", who, session_->peerAddress(),
                  weight_);
        serve();
        connected_ = false;
    }
    {
        std::lock_guard lock(sendMutex_);
        closed_ = true;
        // No longer wanting work: its weight must not shrink the others'
        // shares while its last units run to their end.
        w_.slots->decline(holder_, requested_);
        requested_ = 0;
        if (session_)
            session_->close();
    }
    w_.offerFreeSlots();
    unitThreads_.joinAll();
    w_.slots->leave(holder_);
    w_.offerFreeSlots();
    kLog.info("session with submitter {} ended", who);
    finished_ = true;
    w_.cv.notify_all();
}

bool Link::dial() {
    net::Dialer dialer(w_.deps.credentials);
    wire::Hello hello;
    hello.token = offer_.offer.token;
    hello.software = kSoftware;
    hello.version = wire::Hello::kWithNoWork;
    hello.slots = w_.cfg.slots;
    for (const auto& text : offer_.offer.endpoints) {
        auto endpoint = net::Endpoint::parse(text);
        if (!endpoint) {
            kLog.warn("offer from {}: bad endpoint: {}", offer_.submitter.shortStr(),
                      net::describe(endpoint.error()));
            continue;
        }
        auto session = dialer.dial(
            *endpoint, net::allowListAndKey(w_.deps.trust, offer_.submitter.key()), hello);
        if (session) {
            std::lock_guard lock(sendMutex_); // other sessions' threads look at it
            session_ = std::move(*session);
            return true;
        }
        kLog.warn("cannot reach submitter {} at {}: {}", offer_.submitter.shortStr(), text,
                  net::describe(session.error()));
    }
    return false;
}

void Link::serve() {
    while (!stop_) {
        while (!pending_.empty() && !stop_) {
            auto msg = std::move(pending_.front());
            pending_.pop_front();
            if (!dispatch(msg))
                return;
        }
        requestMore();
        auto msg = session_->receive(kPoll);
        if (!msg) {
            if (msg.error().code == net::Error::Code::kTimeout && !session_->broken())
                continue;
            const auto code = msg.error().code;
            if (code == net::Error::Code::kTooLarge || code == net::Error::Code::kProtocol) {
                // A frame over the cap or bytes that do not decode: refused
                // before the judge, and counted with its refusals.
                kLog.warn("submitter {}: refused a message: {}; ending the session",
                          offer_.submitter.str(), net::describe(msg.error()));
                std::lock_guard lock(w_.mutex);
                ++w_.refused;
            } else if (code != net::Error::Code::kClosed) {
                kLog.warn("session with {} failed: {}", offer_.submitter.shortStr(),
                          net::describe(msg.error()));
            }
            return;
        }
        if (!dispatch(*msg))
            return;
    }
    giveBack();
}

bool Link::requestMore(bool wait, bool borrow) {
    // Ask for as many units as there are free slots this session may take
    // (SlotPool: its share while other submitters want work too). Called by
    // the session thread between messages, by a unit thread as its slot
    // frees (so the slot does not wait for the session's next poll), and by
    // other sessions' threads as slots free there.
    std::unique_lock lock(sendMutex_, std::defer_lock);
    if (wait)
        lock.lock();
    else if (!lock.try_lock())
        return !w_.slots->owed(holder_);
    if (closed_ || !session_ || session_->broken())
        return true;
    if (std::chrono::steady_clock::now() < quietUntil_)
        return true;
    if (!wait && !session_->writable())
        return !w_.slots->owed(holder_);
    std::uint32_t n = w_.slots->reserve(holder_, borrow ? 1 : w_.cfg.slots, borrow);
    if (n == 0)
        return true;
    if (session_->send(wire::RequestWork{.slots = n})) {
        requested_ += n;
    } else {
        w_.slots->release(holder_, n);
    }
    return true;
}

bool Link::noWork(const wire::NoWork& none) {
    {
        std::lock_guard lock(sendMutex_);
        if (none.slots > requested_) {
            kLog.warn("submitter {} handed back {} slot(s) but had {} asked for",
                      offer_.submitter.shortStr(), none.slots, requested_);
            return false;
        }
        requested_ -= none.slots;
        w_.slots->decline(holder_, none.slots);
        quietUntil_ = std::chrono::steady_clock::now() + kRecheck;
    }
    kLog.debug("submitter {} has no work for {} slot(s)", offer_.submitter.shortStr(), none.slots);
    w_.offerFreeSlots();
    return true;
}

void Link::workReady() {
    {
        std::lock_guard lock(sendMutex_);
        quietUntil_ = {};
    }
    kLog.info("submitter {} has work again", offer_.submitter.shortStr());
    requestMore();
}

void Link::giveBack() {
    wire::Bye bye;
    bye.reason = "worker stopping";
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, started] : running_)
            bye.givenBack.push_back(key);
    }
    std::lock_guard lock(sendMutex_);
    if (!closed_) {
        (void)session_->send(bye);
        closed_ = true; // no result goes out after a give-back
    }
    kLog.info("gave back {} unit(s) to {}", bye.givenBack.size(), offer_.submitter.shortStr());
}

// The body of a message whose refusal ends the session (docs/protocol.md):
// logged once with the peer and counted.
template <typename T> std::optional<T> Link::read(const wire::RawMessage& msg) {
    auto body = session_->bodyOrBreak<T>(msg);
    if (body)
        return std::move(*body);
    kLog.warn("submitter {}: refused {}: {}; ending the session", offer_.submitter.str(),
              wire::msgTypeName(msg.type), body.error().what);
    std::lock_guard lock(w_.mutex);
    ++w_.refused;
    return std::nullopt;
}

bool Link::dispatch(wire::RawMessage& msg) {
    switch (msg.type) {
    case wire::MsgType::kAssign: {
        auto assign = wire::bodyAs<wire::Assign>(msg);
        if (!assign && assign.error().code == wire::Error::Code::kRefused)
            return refuseAssign(msg, assign.error());
        if (!assign)
            return read<wire::Assign>(msg).has_value(); // a broken shape ends the session
        return handleAssign(std::move(*assign));
    }
    case wire::MsgType::kCancel: {
        auto cancel = read<wire::Cancel>(msg);
        if (!cancel)
            return false;
        // A running container is killed (the runtime checks four times a
        // second); its result, "killed: cancelled", is no longer wanted.
        kLog.info("submitter cancelled {}/{}: {}", cancel->unitId, cancel->replica, cancel->reason);
        std::lock_guard lock(mutex_);
        if (auto it = stops_.find(replicaKey(cancel->unitId, cancel->replica)); it != stops_.end())
            it->second.request_stop();
        return true;
    }
    case wire::MsgType::kNoWork: {
        auto none = read<wire::NoWork>(msg);
        return none && noWork(*none);
    }
    case wire::MsgType::kWorkReady: {
        if (!read<wire::WorkReady>(msg))
            return false;
        workReady();
        return true;
    }
    case wire::MsgType::kBye: {
        auto bye = read<wire::Bye>(msg);
        kLog.info("submitter {} said bye{}", offer_.submitter.shortStr(),
                  bye ? ": " + bye->reason : "");
        return false;
    }
    case wire::MsgType::kError: {
        auto err = read<wire::ErrorMsg>(msg);
        kLog.warn("submitter {} reported an error: {}", offer_.submitter.shortStr(),
                  err ? err->message : "(unreadable)");
        return false;
    }
    default:
        kLog.warn("submitter {} sent an unexpected {}", offer_.submitter.shortStr(),
                  wire::msgTypeName(msg.type));
        return false;
    }
}

// An assign the judge refused ends only that unit: a result with the reason
// when the unit it names is itself fine, else an error message; either way
// the slot is free again and the session goes on.
bool Link::refuseAssign(const wire::RawMessage& msg, const wire::Error& why) {
    if (!takeRequested())
        return false;
    kLog.warn("submitter {}: refused assign: {}", offer_.submitter.str(), why.what);
    {
        std::lock_guard lock(w_.mutex);
        ++w_.refused;
    }
    if (auto key = wire::unitKeyOf(msg)) {
        wire::Assign named;
        named.unitId = key->unitId;
        named.replica = key->replica;
        refuse(named, "refused: " + why.what);
        return true;
    }
    {
        std::lock_guard lock(sendMutex_);
        if (!closed_)
            (void)session_->send(
                wire::ErrorMsg{.code = wire::kRefusedCode, .message = "refused: " + why.what});
    }
    w_.slots->release(holder_, 1);
    {
        std::lock_guard lock(w_.mutex);
        ++w_.failed;
    }
    w_.offerFreeSlots();
    return true;
}

// An assign answers one slot asked for; one nobody asked for ends the session.
bool Link::takeRequested() {
    std::lock_guard lock(sendMutex_);
    if (requested_ == 0) {
        kLog.warn("submitter {} assigned work nobody asked for", offer_.submitter.shortStr());
        return false;
    }
    --requested_;
    quietUntil_ = {}; // it has work again
    return true;
}

void Link::refuse(const wire::Assign& assign, const std::string& why) {
    kLog.warn("refusing {}/{}: {}", assign.unitId, assign.replica, why);
    wire::Result r;
    r.unitId = assign.unitId;
    r.replica = assign.replica;
    r.error = why;
    sendResult(r);
    w_.slots->release(holder_, 1);
    {
        std::lock_guard lock(w_.mutex);
        ++w_.failed;
    }
    w_.offerFreeSlots();
}

bool Link::handleAssign(wire::Assign assign) {
    if (!takeRequested())
        return false;
    auto admission = admit(assign, w_.cfg);
    if (!admission) {
        refuse(assign, admission.error());
        return true;
    }
    const bool shipped = admission->shippedImage;
    std::vector<wire::Digest> inputs;
    for (const auto& in : assign.inputs)
        inputs.push_back(net::toDigest(in.digest));
    if (shipped)
        inputs.push_back(net::toDigest(assign.imageArchive)); // fetched and cached like an input
    net::FetchOptions options;
    options.onOther = [this](const wire::RawMessage& other) {
        pending_.push_back(cloneMessage(other));
        return true;
    };
    const auto peer = offer_.submitter.str();
    options.usable = [this, &peer](const wire::Digest& d) { return w_.hasProven(peer, d); };
    std::expected<void, net::Error> fetched;
    try {
        // The fetch sends need-blobs: no result may be sent meanwhile.
        std::lock_guard lock(sendMutex_);
        fetched = net::fetchBlobs(*session_, *w_.store, inputs, options);
    } catch (const std::exception& e) { // the cache's disk failed
        kLog.error("cannot cache inputs of {}: {}", assign.unitId, e.what());
        refuse(assign, std::string("inputs could not be cached: ") + e.what());
        return true;
    }
    if (!fetched) {
        if (session_->broken()) {
            kLog.warn("fetching inputs of {} failed: {}", assign.unitId,
                      net::describe(fetched.error()));
            w_.slots->release(holder_, 1);
            w_.offerFreeSlots();
            return false;
        }
        refuse(assign, "inputs could not be fetched: " + net::describe(fetched.error()));
        return true;
    }
    w_.prove(peer, inputs);
    std::vector<wire::Digest> pinned;
    for (const auto& d : inputs)
        if (w_.store->pin(d))
            pinned.push_back(d);

    std::lock_guard lock(mutex_);
    const auto key = replicaKey(assign.unitId, assign.replica);
    running_[key] = w_.deps.clock.nowMs();
    auto token = stops_[key].get_token();
    unitThreads_.start([self = shared_from_this(), a = std::move(assign), p = std::move(pinned),
                        limits = admission->limits, token]() mutable {
        self->runUnit(std::move(a), limits, std::move(p), token);
    });
    return true;
}

void Link::runUnit(wire::Assign assign, sandbox::Limits limits, std::vector<wire::Digest> pinned,
                   std::stop_token stop) {
    const std::string key = replicaKey(assign.unitId, assign.replica);
    // Named from the worker's own counter and random bytes: no path is ever
    // built from text a peer sent (the unit id is a label only).
    std::array<std::uint8_t, 6> rnd{};
    wire::randomBytes(rnd);
    std::uint64_t n = 0;
    {
        std::lock_guard lock(w_.mutex);
        n = ++w_.workDirs;
    }
    auto outDir = w_.deps.home / "work" / fmt::format("unit-{}-{}", n, wire::toHex(rnd));

    UnitRunner runner({.runtime = w_.deps.runtime,
                       .images = w_.deps.images,
                       .blobs = *w_.store,
                       .pins = images_,
                       .workerId = w_.selfId,
                       .submitterId = offer_.submitter.str()});
    wire::Result r = runner.run(assign, limits, outDir, stop);
    std::vector<wire::Digest> produced;
    for (const auto& out : r.outputs)
        produced.push_back(net::toDigest(out.digest));
    w_.prove(offer_.submitter.str(), produced);
    for (const auto& d : pinned)
        w_.store->unpin(d);

    bool sent = sendResult(r);
    {
        std::lock_guard lock(mutex_);
        running_.erase(key);
        stops_.erase(key);
    }
    {
        std::lock_guard lock(w_.mutex);
        ++(sent && r.error.empty() ? w_.done : w_.failed);
    }
    w_.slots->release(holder_, 1);
    kLog.info("unit {} done: exit {}{}", key, r.exitCode, r.error.empty() ? "" : ", " + r.error);
    // Every session, this one included, without waiting for one whose
    // thread is busy (fetching inputs): the slot may then be borrowed.
    // Then this session once more, waiting for its thread: a unit thread
    // returning its result holds it only briefly, and a worker with one
    // submitter would else wait for the session's next poll.
    w_.offerFreeSlots();
    requestMore();
}

void Worker::State::offerFreeSlots() {
    std::vector<std::shared_ptr<Link>> all;
    {
        std::lock_guard lock(mutex);
        all.assign(links.begin(), links.end());
    }
    bool skipped = false;
    for (const auto& l : all)
        skipped = !l->requestMore(false) || skipped;
    // A session below its share whose thread is busy sending (fetching
    // inputs, returning a result), or whose submitter is not reading,
    // cannot ask now: the others may borrow its slots meanwhile, one at a
    // time in turn, so that no slot idles while a submitter has work. It
    // gets the next slot that frees once it asks.
    for (bool progress = skipped; progress && slots->free() > 0;) {
        const auto before = slots->free();
        for (const auto& l : all)
            l->requestMore(false, true);
        progress = slots->free() < before;
    }
}

bool Link::sendResult(const wire::Result& result) {
    std::lock_guard lock(sendMutex_);
    if (closed_ || session_->broken())
        return false;
    if (!session_->send(result))
        return false;
    // The outputs follow the result, unasked (see docs/protocol.md).
    for (const auto& out : result.outputs)
        if (!net::sendBlob(*session_, *w_.store, net::toDigest(out.digest)))
            return false;
    return true;
}

Worker::Worker(WorkerConfig config, WorkerDeps deps)
    : state_(std::make_shared<State>(std::move(config), std::move(deps))) {
    if (state_->cfg.slots == 0)
        state_->cfg.slots = std::max(1u, std::thread::hardware_concurrency());
}

Worker::~Worker() {
    requestStop();
}

void Worker::requestStop() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopRequested = true;
    }
    state_->cv.notify_all();
}

void Worker::run() {
    auto& s = *state_;
    auto& deps = s.deps;
    // Before the slow part of start-up (Podman cleanup): the announcement
    // below then reuses the lookup. A no-op if the caller already started it.
    dht::Announcer::prepare(deps.node);
    try {
        if (auto n = deps.runtime.cleanupLeftovers(s.selfId); n > 0)
            kLog.info("removed {} container(s) and volume(s) left by an earlier run", n);
    } catch (const std::exception& e) {
        kLog.error("cannot remove leftovers of an earlier run: {}", e.what());
    }
    s.store = std::make_unique<net::BlobStore>(
        deps.home / "cache", net::BlobStoreOptions{.maxBytes = s.cfg.cacheBytes}, deps.clock);
    s.slots = std::make_unique<SlotPool>(s.cfg.slots);

    HostFacts host = HostFacts::measure();
    host.podmanVersion = deps.podmanVersion;
    host.rootless = deps.rootless;
    host.isolation = deps.isolation;
    auto record = capacityRecord(host, s.cfg.slots, s.cfg.labels, kSoftware);

    dht::Announcer announcer(deps.node, deps.identity, deps.clock);
    if (auto ok = announcer.announce(record); !ok)
        throw std::runtime_error("cannot announce capacity: " + ok.error().what);
    kLog.info("announced {} slot(s) in swarm '{}' as {}", s.cfg.slots, s.cfg.swarm, s.selfId);

    s.inbox = std::make_unique<dht::Inbox>(
        deps.node, deps.identity, deps.trust, deps.clock,
        [weak = std::weak_ptr<State>(state_)](dht::ReceivedOffer offer) {
            if (auto st = weak.lock()) {
                std::lock_guard lock(st->mutex);
                st->offers.push(std::move(offer));
                st->cv.notify_all();
            }
        });
    s.serve(announcer, record);
    s.shutDown(announcer);
}

// Until a stop is asked for: free slots re-announced as they change (at most
// every 2 s, so `swarm-submit workers` and submitters see a busy worker as
// busy), offers turned into sessions, ended sessions joined.
void Worker::State::serve(dht::Announcer& announcer, wire::CapacityRecord& record) {
    auto announcedAt = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    while (!stopRequested) {
        cv.wait_for(lock, std::chrono::seconds(1));
        const auto free = slots->free();
        if (free != record.freeSlots &&
            std::chrono::steady_clock::now() - announcedAt >= std::chrono::seconds(2)) {
            record.freeSlots = free;
            announcedAt = std::chrono::steady_clock::now();
            lock.unlock();
            if (auto ok = announcer.announce(record); !ok)
                kLog.warn("cannot re-announce capacity: {}", ok.error().what);
            lock.lock();
        }
        startSessions();
        for (auto it = links.begin(); it != links.end();) {
            if ((*it)->finished()) {
                auto link = *it;
                it = links.erase(it);
                lock.unlock();
                link->join();
                lock.lock();
            } else {
                ++it;
            }
        }
    }
    stopping = true;
    slots->close();
}

// Offers from a submitter being dialed, or whose session ended but still
// runs its last units, wait for that to end: the loop comes back when a
// session ends (cv) or within a second. Called with `mutex` held.
void Worker::State::startSessions() {
    auto linkOf = [&](const wire::PeerId& submitter) {
        for (const auto& l : links)
            if (!l->finished() && l->submitter() == submitter)
                return l->connected() ? OfferQueue::LinkState::kConnected
                                      : OfferQueue::LinkState::kDialing;
        return OfferQueue::LinkState::kNone;
    };
    for (auto& offer : offers.take(linkOf, deps.clock.nowMs())) {
        if (stopRequested)
            break;
        kLog.info("offer from {}{}", offer.submitter.shortStr(),
                  offer.submitterName.empty() ? "" : " (" + offer.submitterName + ")");
        auto link = std::make_shared<Link>(*this, std::move(offer));
        link->start();
        links.push_back(std::move(link));
    }
}

// Stops taking work, gives back what runs, withdraws, removes containers,
// joins every session.
void Worker::State::shutDown(dht::Announcer& announcer) {
    std::vector<std::shared_ptr<Link>> all;
    {
        std::lock_guard lock(mutex);
        all.assign(links.begin(), links.end());
    }
    kLog.info("stopping: giving back work, withdrawing, cleaning up");
    inbox.reset();
    for (auto& l : all)
        l->stop();
    announcer.withdraw();
    // Running containers are ours to remove; their units were given back.
    try {
        deps.runtime.cleanupLeftovers(selfId);
    } catch (const std::exception& e) {
        kLog.error("cleaning up containers failed (the next start retries): {}", e.what());
    }
    for (auto& l : all)
        l->join();
    std::lock_guard lock(mutex);
    links.clear();
}

WorkerStatus Worker::status() const {
    auto& s = *state_;
    WorkerStatus st;
    st.peerId = s.selfId;
    st.slots = s.cfg.slots;
    auto now = s.deps.clock.nowMs();
    std::lock_guard lock(s.mutex);
    for (const auto& l : s.links) {
        if (l->connected())
            st.submitters.push_back(l->submitter().str());
        l->collect(st.running, now);
    }
    st.done = s.done;
    st.failed = s.failed;
    st.refused = s.refused;
    st.stopping = s.stopping;
    if (s.store) {
        st.cacheBytes = s.store->usedBytes();
        st.cacheLimit = s.store->maxBytes();
    }
    if (s.inbox) {
        st.offersAccepted = s.inbox->accepted();
        for (auto n : s.inbox->refused())
            st.offersRefused += n;
    }
    return st;
}

std::string WorkerStatus::json() const {
    base::JsonArray units;
    for (const auto& u : running)
        units.add(base::JsonObject()
                      .add("submitter", u.submitter)
                      .add("unit", u.unit)
                      .add("elapsed_ms", u.elapsedMs));
    return base::JsonObject()
        .add("peer_id", peerId)
        .add("slots", slots)
        .add("submitters", submitters)
        .add("running", units)
        .add("done", done)
        .add("failed", failed)
        .add("refused", refused)
        .add("cache_bytes", cacheBytes)
        .add("cache_limit", cacheLimit)
        .add("offers_accepted", offersAccepted)
        .add("offers_refused", offersRefused)
        .add("stopping", stopping)
        .str();
}

} // namespace swarm::worker

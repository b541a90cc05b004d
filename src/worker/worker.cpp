#include "worker/worker.hpp"

#include "base/event_loop.hpp"
#include "base/json_writer.hpp"
#include "dht/announcer.hpp"
#include "dht/inbox.hpp"
#include "dht/node.hpp"
#include "net/blob_store.hpp"
#include "net/reachability.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/freeze_control.hpp"
#include "sandbox/image_ledger.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"
#include "worker/capacity.hpp"
#include "worker/held_results.hpp"
#include "worker/link_set.hpp"
#include "worker/other_cpu.hpp"
#include "worker/proven_blobs.hpp"
#include "worker/session_table.hpp"
#include "worker/submitter_link.hpp"
#include "worker/suspension.hpp"
#include "worker/user_activity.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");
// How often the main thread re-announces free slots (if they changed),
// joins ended sessions and lets the table share out slots once more.
constexpr auto kTick = std::chrono::seconds(1);
// Free slots are re-announced at most this often.
constexpr auto kAnnounceEvery = std::chrono::seconds(2);
// Kept images and cached blobs are collected at least this often (and
// after a unit ends).
constexpr auto kCollectEvery = std::chrono::minutes(3);
// logind is asked at most this often (`[idle] when_user_active`).
constexpr auto kLogindEvery = std::chrono::seconds(5);
constexpr std::string_view kNoLogind = "logind not available: user activity not watched";
} // namespace

struct Worker::State {
    State(WorkerConfig c, WorkerDeps d)
        : cfg(std::move(c)), deps(std::move(d)),
          selfId(wire::PeerId(deps.identity.publicKey()).str()) {}

    WorkerConfig cfg;
    WorkerDeps deps;
    std::string selfId;

    /// Where the DHT sees this host now; logged when it becomes known or
    /// changes (behind NAT with a relay, with a warning). Returns the
    /// capacity record's word for it. Takes the mutex.
    std::string updateReach();

    std::mutex mutex; // guards the fields below
    std::condition_variable cv;
    bool stopRequested = false;
    // Set while run() serves: what status() reads.
    base::EventLoop* loop = nullptr;
    SessionTable* table = nullptr;
    net::BlobStore* store = nullptr;
    HeldResults* held = nullptr;
    dht::Inbox* inbox = nullptr;
    net::Reachability reach; // as last logged

    // The units follow this switch; the worker sets it from `suspension`.
    sandbox::FreezeControl freeze;
    // Guards the fields below. Never held while waiting on the loop; the
    // loop takes it, so it is taken after `mutex` where both are.
    mutable std::mutex suspendMutex;
    Suspension suspension{cfg.maxOtherCpu};
    std::string userActivity; // for status: how `when_user_active` fares

    // `[idle]` watches, used on run()'s thread only.
    std::optional<OtherCpu> otherCpu;
    std::optional<UserActivity> logind;
    std::chrono::steady_clock::time_point logindAt{};
    bool logindMissing = false; // said once in the log
};

std::string Worker::State::updateReach() {
    // The interfaces are read each time: a laptop changes networks.
    auto now = net::reachability(deps.node.publicHosts(), net::localAddresses(), deps.localSwarm);
    std::lock_guard lock(mutex);
    // A moment without a word from the DHT keeps what it said last.
    if (now != reach && now.reach != net::Reach::kUnknown) {
        kLog.info("{}", net::describe(now));
        if (now.reach != reach.reach)
            if (auto warning = net::relayWarning(now, deps.relays, selfId); !warning.empty())
                kLog.warn("{}", warning);
        reach = std::move(now);
    }
    return std::string(net::reachWord(reach.reach));
}

/// One run of the daemon: what lives from start to stop. The loop is
/// stopped first on the way out, so a session's thread that outlives the
/// table (after a failure) posts to nothing.
struct Worker::Serving {
    explicit Serving(State& st)
        : s(st), store(st.deps.home / "cache",
                       net::BlobStoreOptions{.maxBytes = st.cfg.cacheBytes,
                                             .maxAgeMs = st.cfg.blobMaxAgeMs},
                       st.deps.clock),
          held(st.deps.home / "held",
               HeldLimits{.maxAgeMs = st.cfg.heldMaxAgeMs, .maxBytes = st.cfg.heldMaxBytes},
               st.deps.clock),
          ctx{.cfg = st.cfg,
              .deps = st.deps,
              .store = store,
              .proven = proven,
              .held = held,
              .loop = loop,
              .table = table,
              .selfId = st.selfId,
              .freeze = &st.freeze},
          links(ctx), table(st.cfg, loop, st.deps.clock, links) {}
    ~Serving() { loop.stop(); }

    State& s;
    base::EventLoop loop{[](std::string_view what) { kLog.error("{}", what); }};
    net::BlobStore store;
    ProvenBlobs proven;
    HeldResults held; // outlives the sessions that keep and deliver results
    LinkContext ctx;
    LinkSet links;
    SessionTable table;
};

namespace {
// The `[idle]` watches the volunteer asked for.
void startIdleWatch(Worker::State& s) {
    if (s.cfg.maxOtherCpu > 0)
        s.otherCpu.emplace(procStatReader(),
                           unitTicksReader([&freeze = s.freeze] { return freeze.units(); }));
    if (s.cfg.suspendWhenUserActive)
        s.logind.emplace(spawnCommand());
    std::lock_guard lock(s.suspendMutex);
    s.userActivity = s.cfg.suspendWhenUserActive ? "watched (logind)" : "not watched";
}

// Down to the volunteer's `[disk]` limits: cached blobs unused too long
// (their size bound holds all the time), then images this worker loaded.
void collectDisk(Worker::State& s, net::BlobStore& store) {
    if (auto freed = store.expire(); freed > 0)
        kLog.info("removed {} bytes of cached blobs unused for {} s", freed,
                  s.cfg.blobMaxAgeMs / 1000);
    if (s.deps.imageLedger == nullptr || !s.deps.removeImage)
        return;
    const auto now = s.deps.clock.nowMs();
    try {
        auto removed = s.deps.imageLedger->collect(
            sandbox::ImageLimits{.maxAgeMs = s.cfg.imageMaxAgeMs, .maxBytes = s.cfg.imageMaxBytes},
            now, s.deps.removeImage);
        for (const auto& k : removed)
            kLog.info("removed image {} ({}, {} bytes, last used {} s ago)", k.name,
                      k.id.substr(0, 12), k.bytes, (now - k.lastUsedMs) / 1000);
    } catch (const std::exception& e) {
        kLog.warn("cannot remove kept images now (next round retries): {}", e.what());
    }
}
} // namespace

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
    Serving serving(s);
    startIdleWatch(s);

    HostFacts host = HostFacts::measure();
    host.podmanVersion = deps.podmanVersion;
    host.rootless = deps.rootless;
    host.isolation = deps.isolation;
    host.cpuPercent = s.cfg.cpuPercent;
    auto record = capacityRecord(host, s.cfg.slots, s.cfg.labels, kWorkerSoftware);
    serving.loop.runSync([&] {
        followSchedule(serving.table);
        followSuspension(serving.table);
        record.freeSlots = serving.table.freeSlots();
    });
    record.relays = deps.relays;
    record.reach = s.updateReach();

    dht::Announcer announcer(deps.node, deps.identity, deps.clock);
    if (auto ok = announcer.announce(record); !ok)
        throw std::runtime_error("cannot announce capacity: " + ok.error().what);
    kLog.info("announced {} slot(s) in swarm '{}' as {}", s.cfg.slots, s.cfg.swarm, s.selfId);

    auto& loop = serving.loop;
    auto& table = serving.table;
    dht::Inbox inbox(
        deps.node, deps.identity, deps.trust, deps.clock,
        [&loop, &table](dht::ReceivedOffer offer) {
            loop.post([&table, o = std::move(offer)]() mutable { table.offered(std::move(o)); });
        });
    {
        std::lock_guard lock(s.mutex);
        s.loop = &loop;
        s.table = &table;
        s.store = &serving.store;
        s.held = &serving.held;
        s.inbox = &inbox;
    }
    serve(serving, announcer, record);
    shutDown(serving, announcer);
    std::lock_guard lock(s.mutex);
    s.loop = nullptr;
    s.table = nullptr;
    s.store = nullptr;
    s.held = nullptr;
    s.inbox = nullptr;
}

// Until a stop is asked for: free slots and reachability re-announced as
// they change (at most every 2 s, so `swarm-submit workers` and submitters
// see a busy worker as busy), ended sessions joined, and once a tick the
// table shares out free slots (a session whose submitter was not reading
// may ask again).
void Worker::serve(Serving& serving, dht::Announcer& announcer, wire::CapacityRecord& record) {
    auto& s = *state_;
    auto announcedAt = std::chrono::steady_clock::now();
    collectDisk(s, serving.store);
    auto collectedAt = std::chrono::steady_clock::now();
    std::unique_lock lock(s.mutex);
    while (!s.stopRequested) {
        s.cv.wait_for(lock, kTick);
        lock.unlock();
        serving.links.reap();
        serving.held.expire();
        const bool ended = s.deps.imageLedger != nullptr && s.deps.imageLedger->takeEnded();
        if (ended || std::chrono::steady_clock::now() - collectedAt >= kCollectEvery) {
            collectDisk(s, serving.store);
            collectedAt = std::chrono::steady_clock::now();
        }
        std::uint32_t free = record.freeSlots;
        watchIdle();
        serving.loop.runSync([&] {
            followSchedule(serving.table);
            followSuspension(serving.table);
            serving.table.tick();
            free = serving.table.freeSlots();
        });
        auto reach = s.updateReach();
        if ((free != record.freeSlots || reach != record.reach) &&
            std::chrono::steady_clock::now() - announcedAt >= kAnnounceEvery) {
            record.freeSlots = free;
            record.reach = std::move(reach);
            announcedAt = std::chrono::steady_clock::now();
            if (auto ok = announcer.announce(record); !ok)
                kLog.warn("cannot re-announce capacity: {}", ok.error().what);
        }
        lock.lock();
    }
}

// Stops taking work, gives back what runs, withdraws, removes containers,
// waits for every session to end.
void Worker::shutDown(Serving& serving, dht::Announcer& announcer) {
    kLog.info("stopping: giving back work, withdrawing, cleaning up");
    {
        std::lock_guard lock(state_->mutex);
        state_->inbox = nullptr;
    }
    serving.loop.runSync([&] { serving.table.stop(); });
    announcer.withdraw();
    // Running units are given back, each stopped gracefully and sent with
    // its checkpoint (bounded by the give-back grace), before the sessions end.
    for (bool empty = false; !empty;) {
        serving.links.reap();
        serving.loop.runSync([&] { empty = serving.table.empty(); });
        if (!empty)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    serving.links.reap();
    // Whatever container is left is ours to remove.
    try {
        state_->deps.runtime.cleanupLeftovers(state_->selfId);
    } catch (const std::exception& e) {
        kLog.error("cleaning up containers failed (the next start retries): {}", e.what());
    }
}

// Opens or closes the table as the volunteer's schedule says (once a tick:
// a window closes within a second of its time).
void Worker::followSchedule(SessionTable& table) const {
    const auto& s = *state_;
    const std::chrono::system_clock::time_point now{
        std::chrono::milliseconds(s.deps.clock.nowMs())};
    table.setOpen(s.cfg.schedule.open(now));
}

// The CPU share of other processes each tick; logind every few seconds.
void Worker::watchIdle() {
    auto& s = *state_;
    const auto now = s.deps.clock.nowMs();
    std::optional<double> percent;
    if (s.otherCpu)
        percent = s.otherCpu->sample();
    std::optional<std::optional<bool>> active;
    const auto steadyNow = std::chrono::steady_clock::now();
    if (s.logind && steadyNow - s.logindAt >= kLogindEvery) {
        s.logindAt = steadyNow;
        active = s.logind->check();
        if (!*active && !s.logindMissing)
            kLog.warn("{} (loginctl is missing or fails)", kNoLogind);
        s.logindMissing = !*active;
    }
    std::lock_guard lock(s.suspendMutex);
    if (percent)
        s.suspension.otherCpu(*percent, now);
    if (active) {
        // A logind that cannot be asked keeps nobody's machine suspended.
        s.suspension.userActive(active->value_or(false));
        s.userActivity = *active ? "watched (logind)" : std::string(kNoLogind);
    }
}

void Worker::followSuspension(SessionTable& table) const {
    auto& s = *state_;
    bool suspended = false;
    std::string why;
    {
        std::lock_guard lock(s.suspendMutex);
        s.suspension.tick(s.deps.clock.nowMs());
        suspended = s.suspension.suspended();
        why = s.suspension.describe(localClockText);
    }
    if (suspended != table.isSuspended()) {
        if (suspended)
            kLog.info("suspending ({}): freezing units by {}", why,
                      sandbox::describe(s.deps.runtime.freezeMethod()));
        else
            kLog.info("resuming: thawing units");
    }
    s.freeze.setFrozen(suspended);
    table.setSuspended(suspended);
}

std::string Worker::suspend(std::optional<std::int64_t> forMs) {
    auto& s = *state_;
    std::string why;
    {
        std::lock_guard lock(s.suspendMutex);
        s.suspension.suspendByUser(s.deps.clock.nowMs(), forMs);
        why = s.suspension.describe(localClockText);
    }
    applySuspensionSoon();
    return why;
}

std::string Worker::resume() {
    auto& s = *state_;
    std::string why;
    {
        std::lock_guard lock(s.suspendMutex);
        s.suspension.resumeByUser();
        why = s.suspension.describe(localClockText);
    }
    applySuspensionSoon();
    return why;
}

// At once rather than at the next tick; before run() serves, its first
// tick applies it.
void Worker::applySuspensionSoon() {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.loop != nullptr)
        s.loop->post([this, table = s.table] { followSuspension(*table); });
}

WorkerStatus Worker::status() const {
    auto& s = *state_;
    WorkerStatus st;
    const std::chrono::system_clock::time_point now{
        std::chrono::milliseconds(s.deps.clock.nowMs())};
    st.scheduleOpen = s.cfg.schedule.open(now);
    st.schedule = s.cfg.schedule.describe(now);
    st.peerId = s.selfId;
    st.slots = s.cfg.slots;
    st.freezeMethod = std::string(sandbox::describe(s.deps.runtime.freezeMethod()));
    {
        std::lock_guard lock(s.suspendMutex);
        st.suspended = s.suspension.suspended();
        st.suspendedWhy = s.suspension.describe(localClockText);
        st.otherCpuPercent = s.suspension.otherPercent();
        st.maxOtherCpu = s.suspension.maxOtherCpu();
        st.userActivity = s.userActivity;
    }
    std::lock_guard lock(s.mutex);
    st.reach = net::describe(s.reach);
    if (s.loop)
        s.loop->runSync([&] { s.table->collect(st); });
    if (s.store) {
        st.cacheBytes = s.store->usedBytes();
        st.cacheLimit = s.store->maxBytes();
    }
    if (s.held) {
        st.heldCount = s.held->count();
        st.heldBytes = s.held->bytes();
    }
    st.heldLimit = s.cfg.heldMaxBytes;
    st.cacheMaxAgeMs = s.cfg.blobMaxAgeMs;
    st.imageLimit = s.cfg.imageMaxBytes;
    st.imageMaxAgeMs = s.cfg.imageMaxAgeMs;
    if (s.deps.imageLedger != nullptr) {
        st.imageCount = s.deps.imageLedger->images().size();
        st.imageBytes = s.deps.imageLedger->bytes();
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
        .add("held", heldCount)
        .add("held_bytes", heldBytes)
        .add("held_limit", heldLimit)
        .add("cache_max_age_ms", cacheMaxAgeMs)
        .add("images", imageCount)
        .add("image_bytes", imageBytes)
        .add("image_limit", imageLimit)
        .add("image_max_age_ms", imageMaxAgeMs)
        .add("offers_accepted", offersAccepted)
        .add("offers_refused", offersRefused)
        .add("reach", reach)
        .add("stopping", stopping)
        .add("schedule", schedule)
        .add("schedule_open", scheduleOpen)
        .add("suspended", suspended)
        .add("suspended_why", suspendedWhy)
        .add("freeze_method", freezeMethod)
        .add("other_cpu_percent", static_cast<std::int64_t>(otherCpuPercent + 0.5))
        .add("max_other_cpu", maxOtherCpu)
        .add("user_activity", userActivity)
        .str();
}

} // namespace swarm::worker

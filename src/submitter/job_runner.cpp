#include "submitter/job_runner.hpp"

#include "dht/discovery.hpp"
#include "dht/inbox.hpp"
#include "dht/node.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/credentials.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "submitter/input_catalog.hpp"
#include "submitter/journal.hpp"
#include "submitter/offer_book.hpp"
#include "submitter/progress.hpp"
#include "submitter/replica_report.hpp"
#include "submitter/result_store.hpp"
#include "submitter/scheduler.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");
constexpr auto kPoll = std::chrono::milliseconds(200);
} // namespace

struct JobRunner::State {
    State(JobSpec j, Journal& jn, RunOptions o, const wire::Identity& id, wire::TrustList t,
          const wire::Clock& c, bool r)
        : job(std::move(j)), journal(jn), options(std::move(o)), identity(id), trust(std::move(t)),
          clock(c), resumed(r), results(options.jobDir),
          blobs(results.blobDir(),
                net::BlobStoreOptions{.maxBytes = std::uint64_t{1} << 62, .fsync = true}, c) {}

    JobSpec job;
    Journal& journal;
    RunOptions options;
    const wire::Identity& identity;
    wire::TrustList trust;
    const wire::Clock& clock;
    bool resumed;
    ResultStore results;
    net::BlobStore blobs; // inputs we serve and outputs we receive, one store

    std::mutex mutex; // guards everything below
    std::unique_ptr<Scheduler> scheduler;
    std::unique_ptr<InputCatalog> catalog;
    std::map<std::string, const UnitSpec*> units;
    OfferBook offers;
    std::set<WorkerId> sessions;
    std::map<WorkerId, std::vector<wire::Cancel>> cancels;
    std::mutex outMutex; // stdout lines

    void emit(const std::string& line) {
        if (!options.json)
            return;
        std::lock_guard lock(outMutex);
        std::fputs(line.c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    }

    // Acts on what a scheduler event decided. Called with `mutex` held.
    void apply(const Effects& fx) {
        auto now = clock.nowMs();
        for (const auto& r : fx.ended) {
            emit(event::replicaEnded(now, r));
            // A worker whose lease ran out may still be running the replica.
            if (r.state == ReplicaState::kExpired && sessions.contains(r.worker))
                cancels[r.worker].push_back(wire::Cancel{
                    .unitId = r.unitId, .replica = r.replica, .reason = "lease expired"});
        }
        for (const auto& c : fx.cancelled)
            cancels[c.worker].push_back(
                wire::Cancel{.unitId = c.unitId, .replica = c.replica, .reason = "not needed"});
        for (const auto& id : fx.validated) {
            const UnitRecord* u = scheduler->unit(id);
            if (u == nullptr || !u->acceptedReplica)
                continue;
            const auto& reps = scheduler->replicas(id);
            auto written = results.writeUnit(id, reps.at(*u->acceptedReplica).outputs);
            if (!written)
                kLog.error("cannot write results of {}: {}", id, written.error().what);
            emit(event::unitValid(now, *u));
        }
        for (const auto& id : fx.failed) {
            if (const UnitRecord* u = scheduler->unit(id)) {
                kLog.warn("unit {} failed: {}", id, u->reason);
                emit(event::unitFailed(now, *u));
            }
        }
    }

    wire::Assign assignFor(const Assignment& a) {
        return buildAssign(job, *units.at(a.unitId), a, *catalog);
    }

    std::expected<void, net::Error> helloCheck(const wire::PublicKey& key,
                                               const wire::Hello& hello) {
        std::lock_guard lock(mutex);
        if (auto ok = offers.redeem(hello.token, key, clock.nowMs()); !ok)
            return std::unexpected(net::Error(net::Error::Code::kUntrusted, ok.error()));
        return {};
    }

    void prepare();
    void offerWork(dht::Node& node, const dht::Discovery& discovery,
                   const std::vector<std::string>& endpoints, std::int64_t now);
    bool expire(std::int64_t now);
    ProgressState progressState(std::int64_t startedMs, std::size_t decidedAtStart);
    int finish();

    struct Link;
    void serve(net::Session& session, const wire::Hello& hello);
    bool pushWork(net::Session& session, Link& link);
    std::vector<wire::Assign> assignWork(Link& link);
    bool handle(net::Session& session, Link& link, const wire::RawMessage& msg);
    bool serveInputs(net::Session& session, Link& link, const wire::NeedBlobs& req);
    bool receiveResult(net::Session& session, const WorkerId& wid, const wire::Result& result);
    std::string refused(const WorkerId& wid, const wire::RawMessage& msg, const net::Error& why);
};

// One worker's session as seen by its thread.
struct JobRunner::State::Link {
    WorkerId wid;
    // Slots the worker asked for and was not given a unit for yet. A
    // worker that understands no-work gets them back at once when there is
    // no unit for them, so it can lend them to other submitters, and hears
    // work-ready when there is one again; an older worker's demand is kept
    // here instead, and served as work appears.
    std::uint32_t demand = 0;
    bool handsBack = false;
    bool idle = false; // answered no-work, and the worker has not asked since
    bool saidBye = false;
    bool finished = false; // the job is: no more messages
    std::string reason = "disconnected";
    // Replicas sent whose inputs the worker has not asked for yet, in the
    // order sent: a worker fetches the inputs of each assignment in turn, so
    // the first one sharing a digest with a need-blobs request is the one it
    // is for (for the inputs-sent event only).
    struct AwaitingInputs {
        Assignment assignment;
        std::vector<wire::RawDigest> digests;
    };
    std::deque<AwaitingInputs> awaiting;
};

void JobRunner::State::serve(net::Session& session, const wire::Hello& hello) {
    Link link{.wid = wire::PeerId(session.peer()).str()};
    link.handsBack = hello.version >= wire::Hello::kWithNoWork;
    const std::string who = link.wid.substr(0, 12);
    {
        std::lock_guard lock(mutex);
        if (sessions.contains(link.wid)) {
            kLog.warn("worker {} connected twice; keeping the first session", who);
            (void)session.send(wire::ErrorMsg{.code = 409, .message = "already connected"});
            return;
        }
        sessions.insert(link.wid);
        scheduler->workerConnected(link.wid);
    }
    emit(event::workerConnected(clock.nowMs(), link.wid));
    kLog.info("worker {} connected from {} ({}, {} slots)", who, session.peerAddress(),
              hello.software, hello.slots);

    while (pushWork(session, link)) {
        auto msg = session.receive(kPoll);
        if (!msg) {
            if (msg.error().code == net::Error::Code::kTimeout && !session.broken())
                continue;
            link.reason = net::describe(msg.error());
            if (msg.error().code == net::Error::Code::kTooLarge ||
                msg.error().code == net::Error::Code::kProtocol) {
                // Over the frame cap or undecodable: refused before the judge.
                kLog.warn("worker {}: refused a message: {}; ending the session", link.wid,
                          link.reason);
                emit(event::messageRefused(clock.nowMs(), link.wid, "frame", link.reason));
            }
            break;
        }
        if (!handle(session, link, *msg))
            break;
    }
    {
        std::lock_guard lock(mutex);
        if (!link.saidBye || link.finished)
            apply(scheduler->workerDisconnected(link.wid));
        sessions.erase(link.wid);
        cancels.erase(link.wid);
    }
    kLog.info("worker {} left: {}", who, link.reason);
    emit(event::workerDisconnected(clock.nowMs(), link.wid, link.reason));
}

// Sends what the worker is owed now: cancels, assigns for its demand,
// no-work for the rest, work-ready, or bye when the job is finished. False
// when the session is over.
bool JobRunner::State::pushWork(net::Session& session, Link& link) {
    std::vector<wire::Assign> assigns;
    std::vector<wire::Cancel> toCancel;
    std::uint32_t declined = 0;
    bool ready = false;
    {
        std::lock_guard lock(mutex);
        link.finished = scheduler->finished();
        if (!link.finished && link.demand > 0) {
            assigns = assignWork(link);
            if (link.handsBack) {
                declined = link.demand;
                link.demand = 0;
            }
        } else if (!link.finished && link.idle) {
            ready = scheduler->hasWorkFor(link.wid);
        }
        toCancel.swap(cancels[link.wid]);
    }
    if (link.finished) {
        (void)session.send(wire::Bye{.reason = "job finished"});
        link.saidBye = true;
        link.reason = "job finished";
        return false;
    }
    bool ok = true;
    for (const auto& c : toCancel)
        ok = ok && session.send(c).has_value();
    for (const auto& a : assigns)
        ok = ok && session.send(a).has_value();
    if (declined > 0) {
        ok = ok && session.send(wire::NoWork{.slots = declined}).has_value();
        link.idle = true;
    }
    if (ready) {
        ok = ok && session.send(wire::WorkReady{}).has_value();
        link.idle = false;
    }
    return ok;
}

// Replicas for the worker's demand. Called with `mutex` held.
std::vector<wire::Assign> JobRunner::State::assignWork(Link& link) {
    std::vector<wire::Assign> assigns;
    auto given = scheduler->requestWork(link.wid, link.demand);
    for (const auto& a : given) {
        assigns.push_back(assignFor(a));
        emit(event::replicaAssigned(clock.nowMs(), a));
        Link::AwaitingInputs w{a, {}};
        for (const auto& in : assigns.back().inputs)
            w.digests.push_back(in.digest);
        if (assigns.back().imageArchive != wire::RawDigest{})
            w.digests.push_back(assigns.back().imageArchive);
        if (options.json && !w.digests.empty())
            link.awaiting.push_back(std::move(w));
    }
    while (link.awaiting.size() > 4096) // a worker with everything cached
        link.awaiting.pop_front();
    link.demand -= static_cast<std::uint32_t>(given.size());
    return assigns;
}

// One message from the worker. False when the session is over.
bool JobRunner::State::handle(net::Session& session, Link& link, const wire::RawMessage& msg) {
    auto body = [&]<typename T>(std::type_identity<T>) -> std::optional<T> {
        auto b = session.bodyOrBreak<T>(msg);
        if (!b) {
            link.reason = refused(link.wid, msg, b.error());
            return std::nullopt;
        }
        return std::move(*b);
    };
    switch (msg.type) {
    case wire::MsgType::kRequestWork: {
        auto req = body(std::type_identity<wire::RequestWork>{});
        if (!req)
            return false;
        link.demand = std::min<std::uint32_t>(link.demand + req->slots, 1024);
        link.idle = false;
        return true;
    }
    case wire::MsgType::kNeedBlobs: {
        auto req = body(std::type_identity<wire::NeedBlobs>{});
        return req && serveInputs(session, link, *req);
    }
    case wire::MsgType::kResult: {
        auto result = body(std::type_identity<wire::Result>{});
        return result && receiveResult(session, link.wid, *result);
    }
    case wire::MsgType::kBye: {
        auto bye = body(std::type_identity<wire::Bye>{});
        if (!bye)
            return false;
        std::lock_guard lock(mutex);
        apply(scheduler->workerBye(link.wid, parseGivenBack(bye->givenBack)));
        link.saidBye = true;
        link.reason = "bye: " + bye->reason;
        return false;
    }
    case wire::MsgType::kProgress:
        return body(std::type_identity<wire::Progress>{}).has_value();
    case wire::MsgType::kError: {
        // The worker refused an assign it could not name (docs/protocol.md):
        // only that replica is lost, and its lease will say so.
        auto err = body(std::type_identity<wire::ErrorMsg>{});
        if (!err)
            return false;
        kLog.warn("worker {} reported an error {}: {}", link.wid.substr(0, 12), err->code,
                  err->message);
        if (err->code == wire::kRefusedCode)
            return true;
        link.reason = "error: " + err->message;
        return false;
    }
    default:
        link.reason = std::string("unexpected ") + wire::msgTypeName(msg.type);
        return false;
    }
}

bool JobRunner::State::serveInputs(net::Session& session, Link& link, const wire::NeedBlobs& req) {
    if (!net::serveBlobs(session, blobs, req))
        return false;
    auto& awaiting = link.awaiting;
    auto match = std::find_if(awaiting.begin(), awaiting.end(), [&](const auto& w) {
        return std::any_of(w.digests.begin(), w.digests.end(), [&](const auto& d) {
            return std::find(req.digests.begin(), req.digests.end(), d) != req.digests.end();
        });
    });
    if (match != awaiting.end()) {
        emit(event::inputsSent(clock.nowMs(), match->assignment));
        awaiting.erase(awaiting.begin(), std::next(match));
    }
    return true;
}

bool JobRunner::State::receiveResult(net::Session& session, const WorkerId& wid,
                                     const wire::Result& result) {
    emit(event::resultReceived(clock.nowMs(), result.unitId, result.replica, wid, result.wallMs));
    // The outputs follow the result, in order (docs/protocol.md).
    std::string blobError;
    for (const auto& out : result.outputs) {
        auto got = net::receiveBlob(session, blobs, net::toDigest(out.digest), {});
        if (!got) {
            if (session.broken())
                return false;
            blobError = "output " + out.name + ": " + net::describe(got.error());
        }
    }
    ReplicaReport report =
        blobError.empty() ? reportFromResult(result) : ReplicaReport::failure(blobError);
    std::lock_guard lock(mutex);
    auto fx = scheduler->reportResult(wid, result.unitId, result.replica, report);
    if (!fx.ignored.empty())
        kLog.info("result for {}/{} ignored: {}", result.unitId, result.replica, fx.ignored);
    apply(fx);
    return true;
}

// A message from a worker the judge refused (or that does not decode) ends
// the session: outputs that would follow a refused result cannot be matched
// to it. A refused result that names a replica this worker holds ends that
// replica as an error with the judge's reason; the worker's other replicas
// are reissued as for any disconnect. Logged once and emitted as an event.
std::string JobRunner::State::refused(const WorkerId& wid, const wire::RawMessage& msg,
                                      const net::Error& why) {
    const std::string type = wire::msgTypeName(msg.type);
    kLog.warn("worker {}: refused {}: {}; ending the session", wid, type, why.what);
    emit(event::messageRefused(clock.nowMs(), wid, type, why.what));
    if (auto key = wire::unitKeyOf(msg); key && msg.type == wire::MsgType::kResult) {
        std::lock_guard lock(mutex);
        apply(scheduler->reportResult(wid, key->unitId, key->replica,
                                      ReplicaReport::failure("refused: " + why.what)));
    }
    return "refused " + type + ": " + why.what;
}

JobRunner::JobRunner(JobSpec job, Journal& journal, RunOptions options,
                     const wire::Identity& identity, wire::TrustList trust,
                     const wire::Clock& clock, bool resumed)
    : state_(std::make_shared<State>(std::move(job), journal, std::move(options), identity,
                                     std::move(trust), clock, resumed)) {}

JobRunner::~JobRunner() = default;

// Inputs hashed and stored, the scheduler restored from the journal.
void JobRunner::State::prepare() {
    // Inputs are hashed once and copied into the blob store the sessions
    // serve from; units refer to them by digest.
    catalog = std::make_unique<InputCatalog>(job);
    // Results already accepted were computed from the inputs as they were
    // when the job started: a resumed run refuses to mix in changed files.
    const auto listing = inputListing(job, *catalog);
    const auto recorded = journal.inputListing();
    if (recorded.empty())
        journal.recordInputListing(listing);
    else if (auto change = describeInputChange(recorded, listing))
        throw std::runtime_error(*change +
                                 ": results so far were computed from the old content; restore "
                                 "it, or start a new job in another --out directory");
    if (job.image.archive) {
        auto d = blobs.putFile(*job.image.archive);
        if (!d)
            throw std::runtime_error("cannot read image archive " + job.image.archive->string() +
                                     ": " + net::describe(d.error()));
    }
    std::vector<std::string> ids;
    for (const auto& unit : job.units) {
        ids.push_back(unit.id);
        units[unit.id] = &unit;
        for (const auto& in : unit.inputs) {
            auto d = blobs.putFile(in.source);
            if (!d)
                throw std::runtime_error("cannot read input " + in.source.string() + ": " +
                                         net::describe(d.error()));
        }
    }
    scheduler = std::make_unique<Scheduler>(job.policy, ids, clock, journal);
    {
        std::lock_guard lock(mutex);
        auto snapshot = journal.load();
        apply(scheduler->restore(snapshot));
        // A resumed run restores results of units validated before, should
        // the crash have come between the journal and the result files.
        for (const auto& [unit, err] : results.writeMissingUnits(snapshot))
            kLog.error("cannot restore the results of {}: {}", unit, err.what);
    }
}

// Offers work to trusted workers we have no session with.
void JobRunner::State::offerWork(dht::Node& node, const dht::Discovery& discovery,
                                 const std::vector<std::string>& endpoints, std::int64_t now) {
    for (const auto& w : discovery.snapshot().workers) {
        const auto wid = w.id.str();
        std::optional<OfferBook::Token> token;
        {
            std::lock_guard lock(mutex);
            if (sessions.contains(wid))
                continue;
            token = offers.offer(wid, w.id.key(), now);
        }
        if (!token)
            continue;
        wire::Offer offer;
        offer.endpoints = endpoints;
        offer.token = *token;
        offer.jobId = job.name;
        kLog.info("offering work to {}", wid.substr(0, 12));
        dht::postOffer(node, identity, w.id, offer, clock, OfferBook::kLifetimeMs);
        emit(event::offerPosted(clock.nowMs(), wid));
    }
}

// Leases and offer tokens that ran out at `now`; true once the job is finished.
bool JobRunner::State::expire(std::int64_t now) {
    std::lock_guard lock(mutex);
    if (auto next = scheduler->nextLeaseExpiry(); next && *next <= now)
        apply(scheduler->expireLeases());
    offers.expire(now);
    return scheduler->finished();
}

ProgressState JobRunner::State::progressState(std::int64_t startedMs, std::size_t decidedAtStart) {
    std::lock_guard lock(mutex);
    auto c = scheduler->counts();
    ProgressState p;
    p.total = c.total;
    p.valid = c.valid;
    p.failed = c.failed;
    p.running = c.running;
    p.workers = sessions.size();
    p.startedMs = startedMs;
    p.nowMs = clock.nowMs();
    p.decidedAtStart = decidedAtStart;
    return p;
}

// The summary, the last event and the report; the exit status of run().
int JobRunner::State::finish() {
    Snapshot snapshot;
    SchedulerCounts counts;
    bool finished = false;
    {
        std::lock_guard lock(mutex);
        snapshot = scheduler->snapshot();
        counts = scheduler->counts();
        finished = scheduler->finished();
    }
    results.writeSummary(job.name, snapshot);
    auto resultsDir = (options.jobDir / "results").string();
    emit(event::jobFinished(clock.nowMs(), counts.total, counts.valid, counts.failed, resultsDir));
    if (!options.json) {
        std::fputs(statusReport(job.name, snapshot).c_str(), stdout);
        std::printf("results: %s\nsummary: %s\n", resultsDir.c_str(),
                    (options.jobDir / "summary.json").c_str());
    }
    if (!finished)
        return 130;
    return counts.valid == counts.total ? 0 : 1;
}

int JobRunner::run(const std::atomic<bool>& interrupted) {
    auto& s = *state_;
    const auto& job = s.job;

    s.prepare();
    const auto startedMs = s.clock.nowMs();
    const auto decidedAtStart = s.scheduler->counts().valid + s.scheduler->counts().failed;
    s.emit(event::jobStarted(startedMs, job.name, job.units.size(), job.policy, s.resumed));

    net::Credentials credentials(s.identity);
    net::ListenerConfig lc;
    lc.host = s.options.listenHost;
    lc.port = s.options.listenPort;
    auto weak = std::weak_ptr<State>(state_);
    net::Listener listener(
        credentials, lc, net::allowList(s.trust),
        [weak](const wire::PublicKey& key,
               const wire::Hello& hello) -> std::expected<void, net::Error> {
            if (auto st = weak.lock())
                return st->helloCheck(key, hello);
            return std::unexpected(net::Error(net::Error::Code::kRefused, "shutting down"));
        },
        [weak](net::Session& session, const wire::Hello& hello) {
            if (auto st = weak.lock())
                st->serve(session, hello);
        });
    std::vector<std::string> endpoints = s.options.advertise;
    if (endpoints.empty())
        endpoints.push_back(fmt::format("{}:{}", s.options.listenHost, listener.port()));
    kLog.info("listening for workers on {}", endpoints.front());

    dht::NodeConfig nc;
    nc.bindAddress = s.options.dhtAddress;
    nc.port = s.options.dhtPort;
    nc.bootstrap = s.options.bootstrap;
    nc.lanDiscovery = s.options.lanDiscovery;
    nc.swarm = s.options.swarm;
    dht::Node node(nc);
    dht::Discovery discovery(node, s.trust, s.clock);
    discovery.start();

    std::int64_t lastProgress = 0;
    std::string lastLine;
    auto progressState = [&] { return s.progressState(startedMs, decidedAtStart); };

    while (!interrupted) {
        auto now = s.clock.nowMs();
        if (s.expire(now))
            break;

        s.offerWork(node, discovery, endpoints, now);

        auto p = progressState();
        if (s.options.progress) {
            auto line = progressLine(p, 100);
            if (line != lastLine) {
                std::fprintf(stderr, "\r%s\033[K", line.c_str());
                lastLine = line;
            }
        }
        if (s.options.json && now - lastProgress >= 2000) {
            s.emit(event::progress(p));
            lastProgress = now;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }

    // Let the workers hear "bye" from their session threads, then stop.
    for (int i = 0; i < 20; ++i) {
        {
            std::lock_guard lock(s.mutex);
            if (s.sessions.empty())
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    listener.stop();
    if (s.options.progress) {
        std::fprintf(stderr, "\r%s\033[K\n", progressLine(progressState(), 100).c_str());
    }

    const int status = s.finish();
    node.shutdown();
    return status;
}

} // namespace swarm::submitter

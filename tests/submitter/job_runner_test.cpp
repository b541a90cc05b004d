// The job runner's parts without a network: a worker's session over TLS on
// a socketpair (no port), the control loop on a manual executor and clock,
// workers found and offered to through a fake swarm.

#include "base/manual_executor.hpp"
#include "base/unique_fd.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/credentials.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "submitter/batch.hpp"
#include "submitter/diagnosis.hpp"
#include "submitter/follow_server.hpp"
#include "submitter/job_runner.hpp"
#include "submitter/journal.hpp"
#include "submitter/reporter.hpp"
#include "submitter/worker_session.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/socket.h>

#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

using namespace swarm;
using namespace swarm::submitter;
using swarm::test::TempDir;
using namespace std::chrono_literals;

namespace {

JobSpec makeJob(const TempDir& dir, int units, Requirements req = {}) {
    JobSpec job;
    job.requirements = std::move(req);
    job.name = "test";
    job.image.reference = "localhost/img:1";
    job.command = {"cat", "{}"};
    job.policy.replicas = 1;
    job.policy.quorum = 1;
    job.policy.leaseMs = 60'000;
    job.timeoutMs = 10'000;
    for (int i = 0; i < units; ++i) {
        const std::string id = "u" + std::to_string(i);
        job.units.push_back({id, {{dir.write("in/" + id + ".txt", id), id + ".txt"}}});
    }
    return job;
}

/// A batch in a temporary job directory, on a manual clock.
struct BatchRig {
    explicit BatchRig(int units, Requirements req = {})
        : journal(Journal::create(dir.path() / "job", makeJob(dir, units, req))),
          batch(makeJob(dir, units, req), journal, dir.path() / "job", clock, reporter) {
        batch.prepare();
    }
    TempDir dir;
    wire::ManualClock clock;
    Reporter reporter{false, ProgressOutput::kNone};
    Journal journal;
    Batch batch;
};

/// A worker's end of a session whose submitter's end runs WorkerSession on
/// a thread of its own, over TLS on a socketpair.
struct WorkerEnd {
    WorkerEnd(Batch& batch, std::uint32_t helloVersion = wire::Hello::kWithNoWork) {
        int fds[2];
        BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        const auto deadline = net::SteadyClock::now() + 10s;
        auto any = net::allowIf([](const wire::PublicKey&) { return true; });
        serverDone = std::async(
            std::launch::async, [&batch, fd = fds[0], deadline, any, helloVersion, this] {
                auto s = net::Session::handshake(base::UniqueFd(fd), submitterCreds,
                                                 net::Role::kServer, any, {}, deadline);
                BOOST_REQUIRE(s.has_value());
                wire::Hello hello;
                hello.version = helloVersion;
                hello.slots = 4;
                WorkerSession(batch, **s, hello).serve();
            });
        auto c = net::Session::handshake(base::UniqueFd(fds[1]), workerCreds, net::Role::kClient,
                                         any, {}, deadline);
        BOOST_REQUIRE(c.has_value());
        session = std::move(*c);
    }
    ~WorkerEnd() {
        if (session)
            session->close();
        if (serverDone.valid())
            serverDone.wait();
    }
    /// The next message of type T, skipping none.
    template <typename T> T next() {
        auto msg = session->receive(10s);
        BOOST_REQUIRE(msg.has_value());
        BOOST_REQUIRE_MESSAGE(msg->type == T::kType, "got " << wire::msgTypeName(msg->type)
                                                            << ", wanted "
                                                            << wire::msgTypeName(T::kType));
        auto body = wire::bodyAs<T>(*msg);
        BOOST_REQUIRE(body.has_value());
        return *body;
    }
    /// Answers `assign` with exit 0 and `stdout` as its only output.
    void answer(const wire::Assign& assign, std::string_view stdoutText) {
        auto digest = store.put(wire::asBytes(stdoutText));
        BOOST_REQUIRE(digest.has_value());
        wire::Result r;
        r.unitId = assign.unitId;
        r.replica = assign.replica;
        r.exitCode = 0;
        r.outputs.push_back({"stdout", net::toRaw(*digest), stdoutText.size()});
        BOOST_REQUIRE(session->send(r).has_value());
        BOOST_REQUIRE(net::sendBlob(*session, store, *digest).has_value());
    }

    TempDir storeDir;
    wire::ManualClock storeClock;
    net::BlobStore store{storeDir.path(), {}, storeClock};
    wire::Identity submitterId = wire::Identity::generate();
    net::Credentials submitterCreds{submitterId};
    wire::Identity workerId = wire::Identity::generate();
    net::Credentials workerCreds{workerId};
    std::future<void> serverDone;
    std::unique_ptr<net::Session> session;
};

/// Workers the runner finds, and the offers it leaves them.
struct FakeSwarm final : SwarmAccess {
    std::vector<dht::WorkerEntry> found;
    std::vector<std::pair<wire::PeerId, wire::Offer>> posted;
    std::vector<dht::WorkerEntry> workers() const override { return found; }
    void postOffer(const wire::PeerId& worker, const wire::Offer& offer) override {
        posted.emplace_back(worker, offer);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(worker_session)

BOOST_AUTO_TEST_CASE(a_worker_gets_units_for_its_slots_and_hears_bye_when_the_job_is_done) {
    net::TlsLibrary tls;
    BatchRig rig(2);
    WorkerEnd w(rig.batch);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 2}).has_value());
    auto a1 = w.next<wire::Assign>();
    auto a2 = w.next<wire::Assign>();
    BOOST_TEST(a1.unitId != a2.unitId);
    BOOST_TEST(a1.image == "localhost/img:1");
    BOOST_REQUIRE(a1.inputs.size() == 1u);
    // It fetches the inputs of the first: they are served from the batch.
    BOOST_REQUIRE(w.session->send(wire::NeedBlobs{.digests = {a1.inputs[0].digest}}).has_value());
    auto chunk = w.session->receive(10s);
    BOOST_REQUIRE(chunk.has_value());
    BOOST_TEST((chunk->type == wire::MsgType::kBlobChunk));
    w.answer(a1, "one");
    w.answer(a2, "two");
    auto bye = w.next<wire::Bye>();
    BOOST_TEST(bye.reason == "job finished");
    w.serverDone.wait();
    BOOST_TEST(rig.batch.finished());
    BOOST_TEST(rig.batch.counts().valid == 2u);
    BOOST_TEST(rig.batch.workers() == 0u);
}

// logs --follow through a worker's session: the follow reaches the worker,
// its chunks for that replica reach the follower once each, in order;
// others are dropped and the session goes on; after the end the follower
// hears how the replica ended.
BOOST_AUTO_TEST_CASE(a_follow_reaches_the_worker_and_its_chunks_the_follower) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch, wire::Hello::kWithFollow);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    auto a = w.next<wire::Assign>();
    std::mutex m;
    std::vector<std::string> lines;
    auto served = std::async(std::launch::async, [&] {
        return serveFollow(rig.batch, a.unitId + " -", [&](std::string_view line) {
            std::lock_guard lock(m);
            if (line != ".")
                lines.emplace_back(line);
            return true;
        });
    });
    auto f = w.next<wire::Follow>();
    BOOST_TEST((f.unitId == a.unitId && f.replica == a.replica && f.on));
    auto chunk = [&](std::string unit, std::uint64_t offset, std::string_view text) {
        wire::LogChunk c{
            .unitId = std::move(unit), .replica = a.replica, .stream = "stdout", .offset = offset};
        c.data.assign(text.begin(), text.end());
        return c;
    };
    for (const auto& c : {chunk(a.unitId, 0, "line 1\n"), chunk("other", 0, "nobody follows"),
                          chunk(a.unitId, 0, "line 1\n"), chunk(a.unitId, 7, "line 2\n")})
        BOOST_REQUIRE(w.session->send(c).has_value());
    auto end = chunk(a.unitId, 14, "");
    end.end = true;
    BOOST_REQUIRE(w.session->send(end).has_value());
    w.answer(a, "line 1\nline 2\n");
    BOOST_REQUIRE((served.wait_for(20s) == std::future_status::ready));
    BOOST_TEST(served.get() == fmt::format("ok {} succeeded 0", a.replica));
    std::lock_guard lock(m);
    BOOST_REQUIRE(lines.size() == 3u);
    BOOST_TEST(lines[0] ==
               fmt::format("info {} {}", a.replica, wire::PeerId(w.workerId.publicKey()).str()));
    BOOST_TEST(lines[1] == "out 0 " + wire::toHex(wire::asBytes("line 1\n")));
    BOOST_TEST(lines[2] == "out 7 " + wire::toHex(wire::asBytes("line 2\n")));
}

// A follower that goes away (Ctrl-C) is noticed at the next line the run
// writes: the worker is told to stop.
BOOST_AUTO_TEST_CASE(a_follower_gone_turns_the_follow_off) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch, wire::Hello::kWithFollow);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    auto a = w.next<wire::Assign>();
    std::atomic<bool> gone = false;
    auto served = std::async(std::launch::async, [&] {
        return serveFollow(rig.batch, a.unitId + " " + std::to_string(a.replica),
                           [&](std::string_view) { return !gone.load(); });
    });
    BOOST_TEST(w.next<wire::Follow>().on);
    gone = true;
    auto off = w.next<wire::Follow>();
    BOOST_TEST((off.unitId == a.unitId && off.replica == a.replica && !off.on));
    BOOST_REQUIRE((served.wait_for(10s) == std::future_status::ready));
    BOOST_TEST(served.get() == "error the client left");
}

// A worker older than follow would end the session on a message type it
// does not know: it is never sent one, and the follower is told why.
BOOST_AUTO_TEST_CASE(an_older_worker_is_never_sent_a_follow) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    auto a = w.next<wire::Assign>();
    const auto said =
        serveFollow(rig.batch, a.unitId + " -", [](std::string_view) { return true; });
    BOOST_TEST(said.starts_with("error not-running unit '" + a.unitId + "': "), said);
    BOOST_TEST(said.ends_with("runs a version that cannot stream output"), said);
    BOOST_TEST(serveFollow(rig.batch, "nope -", [](std::string_view) { return true; }) ==
               "error no unit 'nope' in this job");
    BOOST_TEST(serveFollow(rig.batch, a.unitId + " x", [](std::string_view) {
                   return true;
               }).starts_with("error follow wants UNIT REPLICA"));
    w.answer(a, "x"); // the next message is the bye: no follow came
    auto bye = w.next<wire::Bye>();
    BOOST_TEST(bye.reason == "job finished");
}

BOOST_AUTO_TEST_CASE(slots_without_a_unit_are_handed_back_and_an_expired_lease_cancelled) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 3}).has_value());
    auto a = w.next<wire::Assign>();
    auto none = w.next<wire::NoWork>();
    BOOST_TEST(none.slots == 2u);
    rig.clock.advance(61'000); // the lease runs out while the worker still runs it
    rig.batch.expire(rig.clock.nowMs());
    auto cancel = w.next<wire::Cancel>();
    BOOST_TEST(cancel.unitId == a.unitId);
    BOOST_TEST(cancel.reason == "lease expired");
}

// A suspended worker's progress ("suspended": its unit is frozen) keeps
// the lease as "running" does: the unit is not taken back.
BOOST_AUTO_TEST_CASE(progress_of_a_suspended_unit_keeps_its_lease) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    auto a = w.next<wire::Assign>();
    rig.clock.advance(40'000); // 20 s of its 60 s lease left
    BOOST_REQUIRE(w.session
                      ->send(wire::Progress{.unitId = a.unitId,
                                            .replica = a.replica,
                                            .state = "suspended",
                                            .elapsedMs = 40'000})
                      .has_value());
    // Messages are handled in order: once this is answered, so was that.
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    BOOST_TEST(w.next<wire::NoWork>().slots == 1u);
    rig.clock.advance(30'000); // past the first lease
    rig.batch.expire(rig.clock.nowMs());
    const auto replicas = rig.batch.view().snapshot.replicas;
    BOOST_REQUIRE_EQUAL(replicas.size(), 1u); // not reissued
    BOOST_TEST((replicas[0].state == ReplicaState::kInFlight));
    BOOST_TEST(replicas[0].leaseExpiresMs > rig.clock.nowMs());
    w.answer(a, "done");
    auto bye = w.next<wire::Bye>();
    BOOST_TEST(bye.reason == "job finished");
    w.serverDone.wait();
    BOOST_TEST(rig.batch.counts().valid == 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_result_ends_the_session_and_fails_only_its_replica) {
    net::TlsLibrary tls;
    BatchRig rig(1);
    WorkerEnd w(rig.batch);
    BOOST_REQUIRE(w.session->send(wire::RequestWork{.slots = 1}).has_value());
    auto a = w.next<wire::Assign>();
    wire::Result r;
    r.unitId = a.unitId;
    r.replica = a.replica;
    r.outputs.push_back({"../../etc/passwd", {}, 1});
    BOOST_REQUIRE(w.session->send(r).has_value());
    w.serverDone.wait();
    BOOST_TEST(rig.batch.workers() == 0u);
    BOOST_TEST(rig.batch.counts().running == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(job_runner)

BOOST_AUTO_TEST_CASE(trusted_workers_found_are_offered_work_once_per_token) {
    BatchRig rig(1);
    FakeSwarm swarm;
    base::ManualExecutor timer;
    JobRunner runner(rig.batch, swarm, timer,
                     [] { return std::vector<std::string>{"192.0.2.1:7000"}; });
    dht::WorkerEntry w;
    w.id = wire::PeerId(wire::Identity::generate().publicKey());
    w.record.slots = 2;
    swarm.found.push_back(w);
    BOOST_TEST(!runner.tick());
    BOOST_REQUIRE(swarm.posted.size() == 1u);
    BOOST_TEST((swarm.posted[0].first == w.id));
    BOOST_TEST(swarm.posted[0].second.endpoints == std::vector<std::string>{"192.0.2.1:7000"});
    BOOST_TEST(swarm.posted[0].second.jobId == "test");
    BOOST_TEST(!runner.tick()); // its token is live: no second offer
    BOOST_TEST(swarm.posted.size() == 1u);
    rig.clock.advance(OfferBook::kLifetimeMs + 1);
    BOOST_TEST(!runner.tick()); // the token ran out unused: offered again
    BOOST_TEST(swarm.posted.size() == 2u);
}

// A record without slots is a peer that only relays: it takes no work.
BOOST_AUTO_TEST_CASE(a_peer_without_slots_is_offered_nothing) {
    BatchRig rig(1);
    FakeSwarm swarm;
    base::ManualExecutor timer;
    JobRunner runner(rig.batch, swarm, timer,
                     [] { return std::vector<std::string>{"192.0.2.1:7000"}; });
    dht::WorkerEntry relayOnly;
    relayOnly.id = wire::PeerId(wire::Identity::generate().publicKey());
    relayOnly.record.relays = {"203.0.113.3:7400"};
    swarm.found.push_back(relayOnly);
    BOOST_TEST(!runner.tick());
    BOOST_TEST(swarm.posted.empty());
}

// Work is offered only to workers whose record meets the job's requirements.
BOOST_AUTO_TEST_CASE(a_worker_that_does_not_meet_the_requirements_is_offered_nothing) {
    Requirements req;
    req.arch = {"x86_64"};
    BatchRig rig(1, req);
    FakeSwarm swarm;
    base::ManualExecutor timer;
    JobRunner runner(rig.batch, swarm, timer,
                     [] { return std::vector<std::string>{"192.0.2.1:7000"}; });
    for (const char* arch : {"aarch64", "x86_64"}) {
        dht::WorkerEntry w;
        w.id = wire::PeerId(wire::Identity::generate().publicKey());
        w.record.slots = 2;
        w.record.arch = arch;
        swarm.found.push_back(w);
    }
    BOOST_TEST(!runner.tick());
    BOOST_REQUIRE(swarm.posted.size() == 1u);
    BOOST_TEST((swarm.posted[0].first == swarm.found[1].id));
}

// A worker offered work that never dials in: why.json says so, naming
// where it was told to dial.
BOOST_AUTO_TEST_CASE(the_runner_writes_why_it_waits) {
    BatchRig rig(1);
    FakeSwarm swarm;
    base::ManualExecutor timer;
    JobRunner runner(rig.batch, swarm, timer,
                     [] { return std::vector<std::string>{"192.0.2.1:7000"}; });
    const auto dir = rig.dir.path() / "job";
    runner.diagnoseInto(dir, 1000);
    dht::WorkerEntry w;
    w.id = wire::PeerId(wire::Identity::generate().publicKey());
    w.record.slots = 2;
    swarm.found.push_back(w);
    BOOST_TEST(!runner.tick());
    BOOST_REQUIRE(swarm.posted.size() == 1u);
    rig.clock.advance(Diagnosis::kDialGraceMs + 2000);
    BOOST_TEST(!runner.tick());
    std::ifstream in(diagnosisPath(dir));
    std::stringstream text;
    text << in.rdbuf();
    auto report = parseDiagnosis(text.str());
    BOOST_REQUIRE_MESSAGE(report.has_value(), report.error());
    BOOST_REQUIRE(report->firstBlocking() != nullptr);
    BOOST_TEST(report->firstBlocking()->reason == "unreachable");
    BOOST_TEST(report->firstBlocking()->detail.find("192.0.2.1:7000") != std::string::npos);
    BOOST_REQUIRE(report->firstBlocking()->workers.size() == 1u);
    BOOST_TEST(report->firstBlocking()->workers[0].worker == w.id.str());
}

BOOST_AUTO_TEST_CASE(run_ticks_on_the_timer_until_interrupted) {
    BatchRig rig(1);
    FakeSwarm swarm;
    base::ManualExecutor timer;
    JobRunner runner(rig.batch, swarm, timer,
                     [] { return std::vector<std::string>{"192.0.2.1:7000"}; });
    std::atomic<bool> interrupted{false};
    auto done = std::async(std::launch::async, [&] { runner.run(interrupted); });
    // The runner posts its first tick; each tick posts the next 250 ms on.
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (timer.pending() == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
    BOOST_TEST(timer.runReady() == 1u);
    BOOST_TEST(timer.advance(250ms) == 1u);
    BOOST_TEST(timer.advance(250ms) == 1u);
    interrupted = true;
    timer.advance(250ms);
    BOOST_TEST((done.wait_for(10s) == std::future_status::ready));
    BOOST_TEST(timer.pending() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// Real OpenDHT nodes on loopback, in this process and in child processes.
// Every node binds 127.0.0.1 (its own port) with OpenDHT's per-IP rate limit
// removed: OpenDHT rewrites a loopback address in a received node list to the
// sender's address, so nodes on distinct 127.x addresses would learn each
// other at wrong addresses (docs/discovery.md).

#include "dht/announcer.hpp"
#include "dht/discovery.hpp"
#include "dht/inbox.hpp"
#include "dht/node.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "test_support.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

using namespace swarm;
using namespace swarm::dht;
using namespace swarm::dht::test;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using swarm::test::ChildProcess;
using swarm::test::TempDir;

namespace {

const std::string kHost = "127.0.0.1";

NodeConfig loopbackNode() {
    NodeConfig cfg;
    cfg.bindAddress = kHost;
    cfg.maxPeerRequestsPerSec = -1;
    return cfg;
}

/// `count` nodes on 127.0.0.1, all bootstrapped from the first.
struct Overlay {
    std::vector<std::unique_ptr<Node>> nodes;

    explicit Overlay(int count) {
        nodes.push_back(std::make_unique<Node>(loopbackNode()));
        HostPort boot{kHost, nodes[0]->port()};
        for (int i = 1; i < count; ++i) {
            NodeConfig cfg = loopbackNode();
            cfg.bootstrap = {boot};
            nodes.push_back(std::make_unique<Node>(cfg));
        }
        for (auto& n : nodes)
            BOOST_REQUIRE_MESSAGE(n->waitForNodes(1, 10s),
                                  "node " << n->endpoint() << " did not join");
    }
    ~Overlay() {
        for (auto& n : nodes)
            n->shutdown();
    }
    Node& operator[](std::size_t i) { return *nodes.at(i); }
};

long long msSince(Steady::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t).count();
}

} // namespace

BOOST_AUTO_TEST_SUITE(overlay)

BOOST_AUTO_TEST_CASE(finds_exactly_the_trusted_workers_among_22_nodes) {
    Overlay net(22);
    wire::SystemClock clock;
    std::vector<wire::Identity> ids;
    for (std::uint8_t i = 0; i < 5; ++i)
        ids.push_back(identityN(static_cast<std::uint8_t>(11 + i)));
    std::vector<std::unique_ptr<Announcer>> announcers;
    for (std::size_t i = 0; i < 5; ++i) {
        announcers.push_back(std::make_unique<Announcer>(net[1 + i], ids[i], clock));
        auto rec = sampleRecord(static_cast<std::uint32_t>(2 * (i + 1)));
        BOOST_REQUIRE(announcers.back()->announce(rec));
        BOOST_TEST(announcers.back()->lastValueSize() < 600u);
    }

    auto start = Steady::now();
    std::size_t submitterNode = 21;
    Discovery discovery(net[submitterNode], trustOf({&ids[0], &ids[1], &ids[2]}), clock);
    discovery.start();
    bool found = discovery.waitUntil(
        [](const DiscoverySnapshot& s) {
            return s.workers.size() == 3 && s.skippedFor(SkipReason::kUntrusted) >= 2;
        },
        20s);
    BOOST_TEST_MESSAGE("3 trusted of 5 workers found in " << msSince(start) << " ms");
    auto snap = discovery.snapshot();
    BOOST_REQUIRE_MESSAGE(found, "within 20 s: listed " << snap.workers.size() << ", untrusted "
                                                        << snap.skippedFor(SkipReason::kUntrusted)
                                                        << ", skipped " << snap.skippedTotal()
                                                        << ", gets " << snap.getsDone);

    std::map<std::string, std::uint32_t> got;
    for (const auto& w : snap.workers) {
        got[w.id.str()] = w.record.cores;
        BOOST_TEST(w.record.memoryBytes == (8ULL << 30));
        BOOST_TEST(w.record.arch == "x86_64");
        BOOST_TEST(w.record.rootless);
    }
    std::map<std::string, std::uint32_t> want{
        {idOf(ids[0]), 2}, {idOf(ids[1]), 4}, {idOf(ids[2]), 6}};
    BOOST_TEST((got == want));
    // Early re-announcements add newer records: only untrusted and stale
    // copies may be skipped.
    BOOST_TEST(snap.skippedTotal() ==
               snap.skippedFor(SkipReason::kUntrusted) + snap.skippedFor(SkipReason::kStale));
}

BOOST_AUTO_TEST_CASE(hostile_values_are_counted_and_skipped) {
    Overlay net(8);
    wire::SystemClock clock;
    auto worker = identityN(21);
    auto stranger = identityN(22);
    AnnouncerOptions quiet; // one record only: exact counts below
    quiet.earlyRefresh.clear();
    Announcer announcer(net[1], worker, clock, quiet);
    BOOST_REQUIRE(announcer.announce(sampleRecord(4)));

    Discovery discovery(net[7], trustOf({&worker}), clock);
    discovery.start();
    BOOST_REQUIRE(discovery.waitUntil([](const auto& s) { return s.workers.size() == 1; }, 15s));
    auto realSeq = announcer.sequence();

    auto key = workersKeyText("default");
    auto now = clock.nowMs();
    auto putRaw = [&](wire::Bytes bytes) {
        net[2].put(key, DhtValue{Node::freshValueId(), std::move(bytes)});
    };
    // 1. Signed by an untrusted key, claiming the trusted worker's id.
    auto forged = sampleRecord(256);
    forged.peerId = idOf(worker);
    forged.sequence = realSeq + 1000;
    putRaw(signRecordAs(stranger, forged, "default", now, 300'000));
    // 2. The worker's own record, long expired.
    auto old = sampleRecord(4);
    old.peerId = idOf(worker);
    old.sequence = realSeq + 2000;
    putRaw(signRecordAs(worker, old, "default", now - 20 * 60'000, 5 * 60'000));
    // 3. A replayed record with an older sequence (validly signed, unexpired).
    auto replay = sampleRecord(1);
    replay.peerId = idOf(worker);
    replay.sequence = realSeq - 1;
    putRaw(signRecordAs(worker, replay, "default", now, 300'000));
    // 4. Random bytes.
    std::mt19937 rng(20260101);
    wire::Bytes junk(200);
    for (auto& b : junk)
        b = static_cast<std::uint8_t>(rng());
    putRaw(junk);
    // 5. A valid record from a worker nobody trusts.
    auto own = sampleRecord(128);
    own.peerId = idOf(stranger);
    own.sequence = 1;
    putRaw(signRecordAs(stranger, own, "default", now, 300'000));

    bool counted = discovery.waitUntil(
        [](const DiscoverySnapshot& s) {
            return s.skippedFor(SkipReason::kSignerMismatch) >= 1 &&
                   s.skippedFor(SkipReason::kExpired) >= 1 &&
                   s.skippedFor(SkipReason::kStale) >= 1 &&
                   s.skippedFor(SkipReason::kMalformed) >= 1 &&
                   s.skippedFor(SkipReason::kUntrusted) >= 1;
        },
        15s);
    auto snap = discovery.snapshot();
    for (std::size_t i = 0; i < kSkipReasonCount; ++i)
        BOOST_TEST_MESSAGE("skipped " << reasonName(static_cast<SkipReason>(i)) << ": "
                                      << snap.skipped[i]);
    BOOST_REQUIRE(counted);
    BOOST_TEST(snap.skippedFor(SkipReason::kSignerMismatch) == 1u);
    BOOST_TEST(snap.skippedFor(SkipReason::kExpired) == 1u);
    BOOST_TEST(snap.skippedFor(SkipReason::kStale) == 1u);
    BOOST_TEST(snap.skippedFor(SkipReason::kMalformed) == 1u);
    BOOST_TEST(snap.skippedFor(SkipReason::kUntrusted) == 1u);
    BOOST_TEST(snap.skippedTotal() == 5u);
    BOOST_REQUIRE(snap.workers.size() == 1u);
    BOOST_TEST(snap.workers[0].id.str() == idOf(worker));
    BOOST_TEST(snap.workers[0].record.sequence == realSeq);
    BOOST_TEST(snap.workers[0].record.cores == 4u);
}

BOOST_AUTO_TEST_CASE(offers_reach_the_worker_and_bad_ones_are_refused) {
    Overlay net(8);
    wire::SystemClock clock;
    auto worker = identityN(31);
    auto other = identityN(32);
    auto submitter = identityN(33);
    auto stranger = identityN(34);

    std::mutex mutex;
    std::vector<ReceivedOffer> received;
    Inbox inbox(net[1], worker, trustOf({&submitter}), clock, [&](ReceivedOffer o) {
        std::lock_guard lock(mutex);
        received.push_back(std::move(o));
    });
    auto waitFor = [&](auto pred, std::chrono::milliseconds timeout) {
        auto deadline = Steady::now() + timeout;
        while (!pred()) {
            if (Steady::now() >= deadline)
                return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    };
    wire::PeerId workerId(worker.publicKey());

    // A trusted submitter's offer arrives.
    auto start = Steady::now();
    wire::Offer offer;
    offer.endpoints = {"127.0.12.6:7100"};
    offer.token.fill(0x42);
    offer.jobId = "job-a";
    postOffer(net[5], submitter, workerId, offer, clock);
    BOOST_REQUIRE(waitFor(
        [&] {
            std::lock_guard lock(mutex);
            return received.size() == 1;
        },
        15s));
    BOOST_TEST_MESSAGE("offer delivered in " << msSince(start) << " ms");
    {
        std::lock_guard lock(mutex);
        BOOST_REQUIRE(received.size() == 1u);
        BOOST_TEST(received[0].submitter.str() == idOf(submitter));
        BOOST_TEST(received[0].offer.endpoints.at(0) == "127.0.12.6:7100");
        BOOST_TEST(received[0].offer.token[0] == 0x42);
        BOOST_TEST(received[0].offer.jobId == "job-a");
    }

    // An untrusted submitter's.
    postOffer(net[6], stranger, workerId, offer, clock);
    // A replay: the trusted submitter's signed offer, re-sealed by anyone.
    auto inner =
        signOffer(submitter, sampleOffer(submitter, worker), "default", clock.nowMs(), 120'000);
    postSealed(net[5], workerId, wire::sealTo(worker.publicKey(), inner));
    BOOST_REQUIRE(waitFor([&] { return inbox.accepted() == 2; }, 15s));
    postSealed(net[3], workerId, wire::sealTo(worker.publicKey(), inner));
    // An expired one.
    postSealed(net[5], workerId,
               sealOffer(submitter, worker.publicKey(), "default", offer,
                         clock.nowMs() - 10 * 60'000, 2 * 60'000));
    // One sealed to another worker, dropped into this worker's inbox.
    postSealed(net[5], workerId,
               sealOffer(submitter, other.publicKey(), "default", offer, clock.nowMs()));

    bool refused = waitFor(
        [&] {
            return inbox.refused(OfferRefusal::kUntrusted) == 1 &&
                   inbox.refused(OfferRefusal::kReplayed) == 1 &&
                   inbox.refused(OfferRefusal::kExpired) == 1 &&
                   inbox.refused(OfferRefusal::kNotForUs) == 1;
        },
        15s);
    auto counts = inbox.refused();
    for (std::size_t i = 0; i < kOfferRefusalCount; ++i)
        BOOST_TEST_MESSAGE("refused " << refusalName(static_cast<OfferRefusal>(i)) << ": "
                                      << counts[i]);
    BOOST_REQUIRE(refused);
    BOOST_TEST(inbox.accepted() == 2u);
    std::uint64_t total = 0;
    for (auto c : counts)
        total += c;
    BOOST_TEST(total == 4u);
}

BOOST_AUTO_TEST_CASE(prepared_announcer_first_record_reaches_a_listener) {
    // As swarm-worker starts: the node comes up, the lookup of the workers
    // key starts at once (before the node has even joined), the announcer
    // announces later, through the search that lookup left.
    Overlay net(12);
    wire::SystemClock clock;
    auto worker = identityN(51);
    Discovery discovery(net[11], trustOf({&worker}), clock);
    discovery.start();

    NodeConfig cfg = loopbackNode();
    cfg.bootstrap = {HostPort{kHost, net[0].port()}};
    auto workerNode = std::make_unique<Node>(cfg);
    auto prepared = [&] {
        auto done = std::make_shared<std::promise<bool>>();
        Announcer::prepare(*workerNode, [done](bool ok) { done->set_value(ok); });
        auto f = done->get_future();
        BOOST_REQUIRE(f.wait_for(15s) == std::future_status::ready);
        return f.get();
    };
    BOOST_TEST(prepared());
    // Again: the lookup just done is reported, none is started.
    BOOST_TEST(prepared());

    auto start = Steady::now();
    Announcer announcer(*workerNode, worker, clock);
    BOOST_REQUIRE(announcer.announce(sampleRecord(6)));
    bool found = discovery.waitUntil([](const auto& s) { return s.workers.size() == 1; }, 15s);
    BOOST_TEST_MESSAGE("first record of a prepared announcer verified by the listener after "
                       << msSince(start) << " ms");
    BOOST_REQUIRE(found);
    auto snap = discovery.snapshot();
    BOOST_TEST(snap.workers[0].id.str() == idOf(worker));
    BOOST_TEST(snap.workers[0].record.cores == 6u);
    BOOST_TEST(announcer.withdraw());
    workerNode->shutdown();
}

BOOST_AUTO_TEST_CASE(a_node_can_count_its_datagrams) {
    // What the discovery bench reports per probe on udp.
    Overlay net(6);
    NodeConfig cfg = loopbackNode();
    cfg.bootstrap = {HostPort{kHost, net[0].port()}};
    cfg.countTraffic = true;
    Node counted(cfg);
    BOOST_TEST(!net[1].traffic()); // not asked for: not counted
    BOOST_REQUIRE(counted.waitForNodes(1, 10s));
    auto done = std::make_shared<std::promise<void>>();
    counted.get(
        "count-me", [](std::vector<DhtValue>) {}, [done](bool) { done->set_value(); });
    BOOST_REQUIRE(done->get_future().wait_for(15s) == std::future_status::ready);
    auto t = counted.traffic();
    BOOST_REQUIRE(t);
    BOOST_TEST(t->packetsSent > 0u);
    BOOST_TEST(t->packetsReceived > 0u);
    BOOST_TEST(t->bytesSent >= t->packetsSent * 20); // every OpenDHT message is at least that
    BOOST_TEST(t->bytesReceived >= t->packetsReceived * 20);
    counted.shutdown();
    BOOST_TEST(counted.traffic()->packetsSent >= t->packetsSent); // still readable
}

BOOST_AUTO_TEST_CASE(withdrawn_worker_disappears) {
    Overlay net(8);
    wire::SystemClock clock;
    auto worker = identityN(41);
    NodeConfig cfg = loopbackNode();
    cfg.bootstrap = {HostPort{kHost, net[0].port()}};
    auto workerNode = std::make_unique<Node>(cfg);
    BOOST_REQUIRE(workerNode->waitForNodes(1, 10s));
    auto announcer = std::make_unique<Announcer>(*workerNode, worker, clock);
    BOOST_REQUIRE(announcer->announce(sampleRecord(4)));

    Discovery discovery(net[7], trustOf({&worker}), clock);
    discovery.start();
    BOOST_REQUIRE(discovery.waitUntil([](const auto& s) { return s.workers.size() == 1; }, 15s));

    auto start = Steady::now();
    BOOST_TEST(announcer->withdraw());
    announcer.reset();
    workerNode->shutdown();
    workerNode.reset();
    bool gone = discovery.waitUntil([](const auto& s) { return s.workers.empty(); }, 15s);
    BOOST_TEST_MESSAGE("withdrawn worker gone from the list after " << msSince(start) << " ms");
    BOOST_TEST(gone);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stock_dhtnode)

namespace {

// A UDP port free right now on all addresses (dhtnode binds the wildcard).
std::uint16_t freeUdpPort() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t len = sizeof sin;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
    close(fd);
    return ntohs(sin.sin_port);
}

// True once some process has a UDP socket bound to `port` (IPv4 or IPv6).
bool udpPortBound(std::uint16_t port) {
    char hex[8];
    std::snprintf(hex, sizeof hex, ":%04X ", port);
    for (const char* file : {"/proc/net/udp", "/proc/net/udp6"}) {
        std::ifstream in(file);
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::istringstream ss(line);
            std::string slot, local;
            ss >> slot >> local;
            if ((local + " ").find(hex) != std::string::npos)
                return true;
        }
    }
    return false;
}

std::string selfExe() {
    return std::filesystem::read_symlink("/proc/self/exe").string();
}

// Stdout on a pipe (for waitLine), stderr in a file.
swarm::test::ChildOptions pipedOut(const std::filesystem::path& stderrFile) {
    swarm::test::ChildOptions o;
    o.out = swarm::test::Stream::pipe();
    o.err = swarm::test::Stream::truncate(stderrFile);
    return o;
}

// Reads the child's stdout until a line containing `needle`, its end or
// the timeout; returns that line.
std::optional<std::string> waitLine(ChildProcess& p, const std::string& needle,
                                    std::chrono::milliseconds timeout) {
    auto deadline = Steady::now() + timeout;
    while (auto line = p.readLine(
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now())))
        if (line->find(needle) != std::string::npos)
            return line;
    return std::nullopt;
}

} // namespace

BOOST_AUTO_TEST_CASE(worker_and_submitter_processes_meet_through_dhtnode) {
    const std::string dhtnode = "/usr/bin/dhtnode";
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(dhtnode),
                          "dhtnode is missing: apt-get install dhtnode");
    TempDir tmp;

    std::unique_ptr<ChildProcess> boot;
    std::uint16_t port = 0;
    for (int attempt = 0; attempt < 5 && !boot; ++attempt) {
        port = freeUdpPort();
        auto p = std::make_unique<ChildProcess>(
            dhtnode, std::vector<std::string>{"-s", "-p", std::to_string(port)},
            pipedOut(tmp.path() / "dhtnode.err"));
        auto deadline = Steady::now() + 5s;
        while (Steady::now() < deadline && p->running() && !udpPortBound(port))
            std::this_thread::sleep_for(20ms);
        if (p->running() && udpPortBound(port))
            boot = std::move(p);
    }
    BOOST_REQUIRE_MESSAGE(boot, "dhtnode did not start");
    auto bootstrap = "127.0.0.1:" + std::to_string(port);
    BOOST_TEST_MESSAGE("dhtnode pid " << boot->pid() << " on " << bootstrap);

    auto exe = selfExe();
    ChildProcess worker(exe,
                        {"--dht-peer", "worker", "--bind", "127.0.0.1", "--bootstrap", bootstrap,
                         "--seed", "51", "--cores", "12"},
                        pipedOut(tmp.path() / "worker.err"));
    auto ready = waitLine(worker, "READY", 15s);
    BOOST_REQUIRE_MESSAGE(ready, "worker process did not start");

    auto start = Steady::now();
    ChildProcess finder(exe,
                        {"--dht-peer", "find", "--bind", "127.0.0.1", "--bootstrap", bootstrap,
                         "--trust-seed", "51", "--timeout-ms", "30000"},
                        pipedOut(tmp.path() / "finder.err"));
    auto line = waitLine(finder, "FOUND", 35s);
    BOOST_TEST_MESSAGE("submitter process found the worker in " << msSince(start) << " ms");
    BOOST_REQUIRE_MESSAGE(line, "submitter process did not find the worker");
    BOOST_TEST(*line == "FOUND " + idOf(identityN(51)) + " 12");
    auto st = finder.wait(10s);
    BOOST_REQUIRE(st);
    BOOST_TEST(!finder.signalled());
    BOOST_TEST(*st == 0);

    auto withdrawn = worker.terminate(10s);
    BOOST_REQUIRE(withdrawn);
    BOOST_TEST(!worker.signalled());
    BOOST_TEST(boot->running());
    boot->terminate();
}

BOOST_AUTO_TEST_SUITE_END()

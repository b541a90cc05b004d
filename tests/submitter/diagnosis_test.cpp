#include "submitter/diagnosis.hpp"
#include "submitter/stall_warning.hpp"
#include "support/temp_dir.hpp"
#include "wire/digest.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace swarm::submitter;

namespace {

RunFacts dhtFacts(std::int64_t nowMs) {
    RunFacts f;
    f.nowMs = nowMs;
    f.swarm.known = true;
    f.swarm.swarm = "default";
    f.swarm.dhtNodes = 3;
    f.swarm.bootstrap = {"127.0.0.1:4222"};
    f.quorum = 2;
    return f;
}

Snapshot pendingUnits(std::initializer_list<const char*> ids) {
    Snapshot s;
    for (const char* id : ids)
        s.units.push_back({id, UnitState::kPending, {}, {}, {}, {}});
    return s;
}

ReplicaRecord replica(const char* unit, std::uint32_t n, const char* worker, ReplicaState state,
                      std::string reason = {}) {
    ReplicaRecord r;
    r.unitId = unit;
    r.replica = n;
    r.worker = worker;
    r.state = state;
    r.reason = std::move(reason);
    return r;
}

const Blocker* find(const DiagnosisReport& r, std::string_view reason) {
    for (const auto& b : r.blockers)
        if (b.reason == reason)
            return &b;
    return nullptr;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(diagnosis)

BOOST_AUTO_TEST_CASE(no_dht_node_names_the_bootstrap) {
    Diagnosis d(0);
    auto f = dhtFacts(12'000);
    f.swarm.dhtNodes = 0;
    f.swarm.bootstrap = {"127.0.0.1:9"};
    auto r = d.diagnose(f, pendingUnits({"u1"}));
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "no-bootstrap");
    BOOST_TEST(contains(r.firstBlocking()->detail, "127.0.0.1:9"), r.firstBlocking()->detail);
    BOOST_TEST(contains(r.firstBlocking()->detail, "12 s"), r.firstBlocking()->detail);
    BOOST_TEST(!find(r, "no-trusted-worker")); // no DHT, so no worker either: one reason
}

BOOST_AUTO_TEST_CASE(no_trusted_worker_says_which_records_were_skipped) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.swarm.skipped = {{"untrusted", 2}, {"foreign", 0}, {"expired", 1}};
    f.blockedUnits = 1; // no worker connected: the scheduler counts every unit blocked
    auto r = d.diagnose(f, pendingUnits({"u1"}));
    BOOST_TEST(!find(r, "needs-more-workers")); // the reason is that none was found
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "no-trusted-worker");
    BOOST_TEST(contains(r.firstBlocking()->detail, "2 untrusted, 1 expired"),
               r.firstBlocking()->detail);
    BOOST_TEST(!contains(r.firstBlocking()->detail, "foreign"));
}

BOOST_AUTO_TEST_CASE(unmet_requirements_list_each_worker) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.workersFound = {"w1", "w2"};
    f.unmet = {{"w1", "arch x86_64 is not one of s390x"},
               {"w2", "arch aarch64 is not one of s390x"}};
    auto r = d.diagnose(f, pendingUnits({"u1"}));
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "unmet-requirements");
    BOOST_REQUIRE(r.firstBlocking()->workers.size() == 2u);
    BOOST_TEST(r.firstBlocking()->workers[0].detail == "arch x86_64 is not one of s390x");
}

BOOST_AUTO_TEST_CASE(a_worker_offered_work_that_never_dials_in_is_unreachable) {
    Diagnosis d(0);
    d.offered("w1", {"127.0.0.1:9"}, 1'000);
    auto f = dhtFacts(2'000);
    f.workersFound = {"w1"};
    auto r = d.diagnose(f, pendingUnits({"u1"}));
    BOOST_TEST(r.firstBlocking() == nullptr); // it may still dial in
    BOOST_TEST(find(r, "connecting"));
    f.nowMs = 1'000 + Diagnosis::kDialGraceMs;
    r = d.diagnose(f, pendingUnits({"u1"}));
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "unreachable");
    BOOST_TEST(contains(r.firstBlocking()->detail, "127.0.0.1:9"), r.firstBlocking()->detail);
    BOOST_REQUIRE(r.firstBlocking()->workers.size() == 1u);
    BOOST_TEST(r.firstBlocking()->workers[0].detail ==
               "offered once since 5 s ago, never connected");
    f.connectedEver = {"w1"}; // it came after all
    BOOST_TEST(!find(d.diagnose(f, pendingUnits({"u1"})), "unreachable"));
}

// A resumed run's replicas on a worker that has not come back: blocking,
// with what it holds, not "running".
BOOST_AUTO_TEST_CASE(replicas_on_a_worker_not_connected_are_a_blocking_reason) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.workersFound = {"w1", "w2"};
    f.connectedNow = f.connectedEver = {"w1"};
    auto s = pendingUnits({"u1", "u2"});
    s.replicas.push_back(replica("u1", 0, "w1", ReplicaState::kInFlight));
    s.replicas.push_back(replica("u2", 0, "w2", ReplicaState::kInFlight));
    auto r = d.diagnose(f, s);
    const auto* away = find(r, "worker-away");
    BOOST_REQUIRE(away != nullptr);
    BOOST_TEST(away->blocking);
    BOOST_TEST(away->detail == "1 replica in flight on 1 worker not connected now: collected "
                               "when they reach this run, reissued when their leases end");
    BOOST_REQUIRE(away->workers.size() == 1u);
    BOOST_TEST(away->workers[0].worker == "w2");
    BOOST_TEST(away->workers[0].detail == "holds u2/0");
    BOOST_REQUIRE(find(r, "running") != nullptr);
    BOOST_TEST(find(r, "running")->detail == "1 replica running on 1 worker");
}

BOOST_AUTO_TEST_CASE(refusals_are_listed_per_worker_with_their_units) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.workersFound = {"w1"};
    f.connectedNow = f.connectedEver = {"w1"};
    f.blockedUnits = 1;
    auto s = pendingUnits({"u1", "u2"});
    s.replicas.push_back(replica("u1", 0, "w1", ReplicaState::kRefused,
                                 "refused by the worker: image 'x' is not allowed"));
    s.replicas.push_back(replica("u2", 0, "w1", ReplicaState::kInFlight));
    auto r = d.diagnose(f, s);
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "refused");
    BOOST_REQUIRE(r.firstBlocking()->workers.size() == 1u);
    BOOST_TEST(r.firstBlocking()->workers[0].detail ==
               "u1/0: refused by the worker: image 'x' is not allowed");
    BOOST_TEST(r.firstBlocking()->units == std::vector<std::string>{"u1"});
    BOOST_TEST(find(r, "needs-more-workers"));
    BOOST_TEST(find(r, "running"));
    BOOST_TEST(!find(r, "running")->blocking);
}

BOOST_AUTO_TEST_CASE(connected_workers_that_take_nothing_have_busy_slots) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.workersFound = {"w1"};
    f.connectedNow = f.connectedEver = {"w1"};
    auto r = d.diagnose(f, pendingUnits({"u1", "u2"}));
    BOOST_REQUIRE(r.firstBlocking() != nullptr);
    BOOST_TEST(r.firstBlocking()->reason == "slots-busy");
    BOOST_TEST(contains(r.firstBlocking()->detail, "1 worker connected, 2 units wait"),
               r.firstBlocking()->detail);
}

BOOST_AUTO_TEST_CASE(units_with_disagreeing_results_wait_for_quorum) {
    Diagnosis d(0);
    auto f = dhtFacts(5'000);
    f.workersFound = {"w1", "w2", "w3"};
    f.connectedNow = f.connectedEver = {"w1", "w2", "w3"};
    auto s = pendingUnits({"u1"});
    auto a = replica("u1", 0, "w1", ReplicaState::kSucceeded);
    a.digest = swarm::wire::sha256(swarm::wire::asBytes(std::string_view("a")));
    auto b = replica("u1", 1, "w2", ReplicaState::kSucceeded);
    b.digest = swarm::wire::sha256(swarm::wire::asBytes(std::string_view("b")));
    s.replicas = {a, b, replica("u1", 2, "w3", ReplicaState::kInFlight)};
    auto r = d.diagnose(f, s);
    const Blocker* q = find(r, "quorum");
    BOOST_REQUIRE(q != nullptr);
    BOOST_TEST(contains(q->detail, "u1: 1 of 2 agree"), q->detail);
    BOOST_TEST(r.firstBlocking() == nullptr); // a replica runs: nothing is stuck
}

BOOST_AUTO_TEST_CASE(progress_is_an_assignment_or_a_result) {
    Diagnosis d(0);
    auto f = dhtFacts(1'000);
    f.workersFound = {"w1"};
    f.connectedNow = f.connectedEver = {"w1"};
    auto s = pendingUnits({"u1"});
    BOOST_TEST(d.diagnose(f, s).lastProgressMs == 0);
    f.nowMs = 2'000;
    s.replicas.push_back(replica("u1", 0, "w1", ReplicaState::kInFlight));
    BOOST_TEST(d.diagnose(f, s).lastProgressMs == 2'000);
    f.nowMs = 3'000;
    BOOST_TEST(d.diagnose(f, s).lastProgressMs == 2'000);
    f.nowMs = 4'000;
    s.replicas[0].state = ReplicaState::kErrored;
    BOOST_TEST(d.diagnose(f, s).lastProgressMs == 4'000);
}

BOOST_AUTO_TEST_CASE(why_json_reads_back) {
    DiagnosisReport r;
    r.writtenMs = 9'000;
    r.startedMs = 1'000;
    r.lastProgressMs = 2'000;
    r.blockers.push_back(
        {"refused", "1 workers \"refused\"\n", true, {{"w1", "u1/0: no"}}, {"u1"}});
    r.blockers.push_back({"running", "1 replicas", false, {}, {}});
    swarm::test::TempDir dir("swarm-why");
    BOOST_REQUIRE(writeDiagnosis(dir.path(), r).has_value());
    std::ifstream in(diagnosisPath(dir.path()));
    std::stringstream text;
    text << in.rdbuf();
    auto back = parseDiagnosis(text.str());
    BOOST_REQUIRE_MESSAGE(back.has_value(), back.error());
    BOOST_TEST(back->writtenMs == 9'000);
    BOOST_TEST(back->lastProgressMs == 2'000);
    BOOST_REQUIRE(back->blockers.size() == 2u);
    BOOST_TEST(back->blockers[0].detail == "1 workers \"refused\"\n");
    BOOST_TEST(back->blockers[0].workers[0].worker == "w1");
    BOOST_TEST(back->blockers[0].units == std::vector<std::string>{"u1"});
    BOOST_TEST(!back->blockers[1].blocking);
    BOOST_TEST(!parseDiagnosis("{\"reasons\": 3}").has_value());
    BOOST_TEST(!parseDiagnosis("[[[[").has_value());
}

BOOST_AUTO_TEST_CASE(the_stall_warning_names_the_first_blocking_reason_once) {
    StallWarning stall(60'000);
    DiagnosisReport r;
    r.blockers.push_back({"running", "1 replicas running", false, {}, {}});
    r.blockers.push_back({"no-bootstrap", "no DHT node answered", true, {}, {}});
    r.writtenMs = 59'000;
    BOOST_TEST(!stall.check(r));
    r.writtenMs = 60'000;
    auto line = stall.check(r);
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST(*line == "no progress for 60 s: no-bootstrap: no DHT node answered");
    r.writtenMs = 62'000;
    BOOST_TEST(!stall.check(r)); // the same reason: not again soon
    r.blockers[1] = {"no-trusted-worker", "none found", true, {}, {}};
    BOOST_TEST(stall.check(r).has_value()); // a new reason
    r.writtenMs = 62'000 + 600'000;
    BOOST_TEST(stall.check(r).has_value()); // a much longer quiet spell
    r.blockers.pop_back();                  // only running: nothing is stuck
    r.writtenMs += 600'000;
    BOOST_TEST(!stall.check(r));
}

BOOST_AUTO_TEST_SUITE_END()

#include "base/json_writer.hpp"
#include "submitter/progress.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(durations) {
    BOOST_TEST(formatDuration(0) == "0s");
    BOOST_TEST(formatDuration(1) == "1s");
    BOOST_TEST(formatDuration(12'000) == "12s");
    BOOST_TEST(formatDuration(245'000) == "4m05s");
    BOOST_TEST(formatDuration(3'720'000) == "1h02m");
}

BOOST_AUTO_TEST_CASE(eta_uses_this_runs_rate) {
    ProgressState p;
    p.total = 40;
    p.startedMs = 1'000'000;
    p.nowMs = 1'000'000;
    BOOST_TEST(!etaMs(p));
    p.valid = 10;
    p.failed = 0;
    p.decidedAtStart = 6; // resumed with 6 already done
    p.nowMs += 40'000;    // 4 units in 40 s
    BOOST_TEST(*etaMs(p) == 300'000);
    p.valid = 40;
    BOOST_TEST(*etaMs(p) == 0);
}

BOOST_AUTO_TEST_CASE(line) {
    ProgressState p;
    p.total = 40;
    p.valid = 14;
    p.failed = 1;
    p.running = 3;
    p.workers = 3;
    p.startedMs = 0;
    p.nowMs = 60'000;
    BOOST_TEST(progressLine(p) ==
               "[#######.............]  14/40 done  3 running  1 failed  3 workers  ETA 1m40s");
    BOOST_TEST(progressLine(p, 60) == "14/40 done  3 running  1 failed  3 workers  ETA 1m40s");
    BOOST_TEST(progressLine(p, 20).size() == 20u);
    p.workers = 1;
    p.valid = 0;
    p.failed = 0;
    BOOST_TEST(progressLine(p) ==
               "[....................]  0/40 done  3 running  0 failed  1 worker  ETA --");
}

BOOST_AUTO_TEST_CASE(json_events) {
    ReplicationPolicy pol;
    BOOST_TEST(event::jobStarted(5, "wc", 20, pol, false) ==
               R"({"event":"job-started","time_ms":5,"job":"wc","units":20,"replicas":2,)"
               R"("quorum":2,"resumed":false})");
    BOOST_TEST(event::workerConnected(6, "sw1abc", "direct", "192.0.2.10:5000") ==
               R"({"event":"worker-connected","time_ms":6,"worker":"sw1abc","path":"direct",)"
               R"("address":"192.0.2.10:5000"})");
    BOOST_TEST(event::workerDisconnected(7, "sw1abc", "eof") ==
               R"({"event":"worker-disconnected","time_ms":7,"worker":"sw1abc","reason":"eof"})");
    BOOST_TEST(event::replicaAssigned(8, {"u1", 2, "sw1abc", 99}) ==
               R"({"event":"replica-assigned","time_ms":8,"unit":"u1","replica":2,)"
               R"("worker":"sw1abc","lease_expires_ms":99})");
    BOOST_TEST(event::offerPosted(5, "sw1abc") ==
               R"({"event":"offer-posted","time_ms":5,"worker":"sw1abc"})");
    BOOST_TEST(event::inputsSent(8, {"u1", 2, "sw1abc", 99}) ==
               R"({"event":"inputs-sent","time_ms":8,"unit":"u1","replica":2,"worker":"sw1abc"})");
    BOOST_TEST(event::resultReceived(9, "u1", 2, "sw1abc", 41) ==
               R"({"event":"result-received","time_ms":9,"unit":"u1","replica":2,)"
               R"("worker":"sw1abc","wall_ms":41})");
    ReplicaRecord r;
    r.unitId = "u1";
    r.replica = 1;
    r.worker = "w";
    r.state = ReplicaState::kExpired;
    r.reason = "lease expired";
    BOOST_TEST(event::replicaEnded(9, r) ==
               R"({"event":"replica-ended","time_ms":9,"unit":"u1","replica":1,"worker":"w",)"
               R"("state":"expired","reason":"lease expired"})");
    UnitRecord u;
    u.id = "u1";
    u.state = UnitState::kValid;
    u.digest = swarm::wire::sha256(swarm::wire::asBytes("x"));
    u.agreed = {"a", "b"};
    BOOST_TEST(event::unitValid(10, u) == R"({"event":"unit-valid","time_ms":10,"unit":"u1",)"
                                          R"("digest":")" +
                                              u.digest->str() + R"(","agreed":["a","b"]})");
    u.reason = "too many errors\nline2";
    BOOST_TEST(
        event::unitFailed(11, u) ==
        R"({"event":"unit-failed","time_ms":11,"unit":"u1","reason":"too many errors\nline2"})");
    ProgressState p;
    p.total = 2;
    p.nowMs = 12;
    BOOST_TEST(event::progress(p) ==
               R"({"event":"progress","time_ms":12,"total":2,"valid":0,"failed":0,"running":0,)"
               R"("workers":0,"eta_ms":null})");
    BOOST_TEST(event::jobFinished(13, 2, 2, 0, "/x/results") ==
               R"({"event":"job-finished","time_ms":13,"total":2,"valid":2,"failed":0,)"
               R"("results":"/x/results","ok":true})");
}

BOOST_AUTO_TEST_CASE(status_report) {
    Snapshot snap;
    snap.units.resize(3);
    snap.units[0].id = "a";
    snap.units[0].state = UnitState::kValid;
    snap.units[1].id = "b";
    snap.units[1].state = UnitState::kFailed;
    snap.units[1].reason = "too many errors";
    snap.units[2].id = "c";
    snap.replicas.resize(1);
    snap.replicas[0].unitId = "c";
    BOOST_TEST(statusReport("wc", snap) ==
               "job wc: 1 valid, 1 failed, 1 pending of 3 units (1 replicas in flight)\n"
               "  failed b: too many errors\n");
}

BOOST_AUTO_TEST_CASE(json_quoting_is_safe) {
    // Events and summary.json quote with base::jsonString.
    using swarm::base::jsonString;
    BOOST_TEST(jsonString("a\"b\\c") == R"("a\"b\\c")");
    BOOST_TEST(jsonString(std::string("\x01\x7f", 2)) == R"("\u0001\u007f")");
    BOOST_TEST(jsonString("h\xC3\xA9") == "\"h\xC3\xA9\"");               // valid UTF-8 kept
    BOOST_TEST(jsonString("\xFF\xC3") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\""); // invalid replaced
    BOOST_TEST(jsonString("\xED\xA0\x80") ==
               "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""); // surrogate
}

BOOST_AUTO_TEST_SUITE_END()

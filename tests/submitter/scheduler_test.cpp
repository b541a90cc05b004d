#include "submitter/scheduler.hpp"
#include "wire/clock.hpp"
#include "wire/messages.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>

using namespace swarm::submitter;
using swarm::wire::ManualClock;

namespace {

// Remembers every committed batch, in order.
class RecordingStore final : public SchedulerStore {
public:
    void commit(const StateBatch& batch) override { batches.push_back(batch); }
    std::vector<StateBatch> batches;
};

swarm::wire::Digest digestOf(std::string_view text) {
    return swarm::wire::sha256(swarm::wire::asBytes(text));
}

ReplicaReport vote(std::string_view content, std::int32_t exitCode = 0) {
    return ReplicaReport::success(
        exitCode, {{"stdout", digestOf(content), content.size()}, {"stderr", digestOf("log"), 3}});
}

ReplicationPolicy policy(std::uint32_t r, std::uint32_t q, std::uint32_t maxErrors = 3,
                         std::uint32_t maxTotal = 10) {
    ReplicationPolicy p;
    p.replicas = r;
    p.quorum = q;
    p.maxErrors = maxErrors;
    p.maxTotalResults = maxTotal;
    p.leaseMs = 60'000;
    return p;
}

struct Fixture {
    ManualClock clock;
    RecordingStore store;
};

std::vector<std::string> unitsOf(const std::vector<Assignment>& as) {
    std::vector<std::string> out;
    for (const auto& a : as)
        out.push_back(a.unitId);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_FIXTURE_TEST_CASE(replicas_go_to_distinct_workers, Fixture) {
    Scheduler s(policy(2, 2), {"u1", "u2", "u3"}, clock, store);
    auto a1 = s.requestWork("w1", 10);
    BOOST_TEST(unitsOf(a1) == (std::vector<std::string>{"u1", "u2", "u3"}));
    BOOST_TEST(s.requestWork("w1", 10).empty()); // never two replicas of a unit
    auto a2 = s.requestWork("w2", 2);
    BOOST_TEST(unitsOf(a2) == (std::vector<std::string>{"u1", "u2"}));
    auto a2b = s.requestWork("w2", 5);
    BOOST_TEST(unitsOf(a2b) == std::vector<std::string>{"u3"});
    BOOST_TEST(s.requestWork("w3", 5).empty()); // R replicas already in flight
    BOOST_TEST(a1[0].leaseExpiresMs == clock.nowMs() + 60'000);
    BOOST_TEST(a2[0].replica == 1u);
    // Committed before returned: the last batch holds the assignment.
    BOOST_REQUIRE(!store.batches.empty());
    const auto& last = store.batches.back().replicas;
    BOOST_REQUIRE(last.size() == 1u);
    BOOST_TEST(last[0].unitId == "u3");
    BOOST_TEST(last[0].worker == "w2");
    BOOST_TEST((last[0].state == ReplicaState::kInFlight));
    auto c = s.counts();
    BOOST_TEST(c.total == 3u);
    BOOST_TEST(c.running == 3u);
    BOOST_TEST(c.inFlightReplicas == 6u);
    BOOST_TEST(c.workersConnected == 3u); // asking for work implies connected
}

BOOST_FIXTURE_TEST_CASE(quorum_agreement_validates, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    auto e1 = s.reportResult("w1", "u1", a[0].replica, vote("42\n"));
    BOOST_TEST(e1.validated.empty());
    BOOST_TEST(!s.finished());
    auto e2 = s.reportResult("w2", "u1", b[0].replica, vote("42\n"));
    BOOST_TEST(e2.validated == std::vector<std::string>{"u1"});
    BOOST_TEST(s.finished());
    const auto* u = s.unit("u1");
    BOOST_TEST((u->state == UnitState::kValid));
    BOOST_TEST(u->agreed == (std::vector<WorkerId>{"w1", "w2"}));
    BOOST_TEST(*u->acceptedReplica == 0u);
    BOOST_TEST((*u->digest == *vote("42\n").digest));
    // The unit row was committed in the same batch as the deciding replica.
    BOOST_TEST(store.batches.back().units.size() == 1u);
    BOOST_TEST(store.batches.back().replicas.size() == 1u);
    // A late duplicate is ignored.
    auto e3 = s.reportResult("w2", "u1", b[0].replica, vote("42\n"));
    BOOST_TEST(!e3.ignored.empty());
}

BOOST_FIXTURE_TEST_CASE(stderr_does_not_vote_but_exit_code_does, Fixture) {
    auto x =
        ReplicaReport::success(0, {{"stdout", digestOf("a"), 1}, {"stderr", digestOf("t=1"), 3}});
    auto y =
        ReplicaReport::success(0, {{"stderr", digestOf("t=2"), 3}, {"stdout", digestOf("a"), 1}});
    auto z = ReplicaReport::success(1, {{"stdout", digestOf("a"), 1}});
    BOOST_TEST((*x.digest == *y.digest));
    BOOST_TEST((*x.digest != *z.digest));
}

BOOST_FIXTURE_TEST_CASE(lease_expiry_reissues_to_another_worker, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    clock.advance(10'000);
    auto b = s.requestWork("w2", 1);
    BOOST_TEST(*s.nextLeaseExpiry() == a[0].leaseExpiresMs);
    clock.advance(49'999);
    BOOST_TEST(s.expireLeases().ended.empty());
    clock.advance(1);
    auto e = s.expireLeases();
    BOOST_REQUIRE(e.ended.size() == 1u);
    BOOST_TEST(e.ended[0].worker == "w1");
    BOOST_TEST((e.ended[0].state == ReplicaState::kExpired));
    BOOST_TEST(*s.nextLeaseExpiry() == b[0].leaseExpiresMs);
    BOOST_TEST(s.requestWork("w1", 1).empty()); // w1 already had u1
    BOOST_TEST(s.requestWork("w2", 1).empty());
    auto c = s.requestWork("w3", 1);
    BOOST_REQUIRE(c.size() == 1u);
    BOOST_TEST(c[0].replica == 2u);
    // The expired replica's late result still counts while the unit is
    // pending (BOINC accepts late results); the reissued one is then not
    // needed.
    BOOST_TEST(s.reportResult("w1", "u1", a[0].replica, vote("x")).ignored.empty());
    auto done = s.reportResult("w2", "u1", b[0].replica, vote("x"));
    BOOST_TEST(done.validated == std::vector<std::string>{"u1"});
    BOOST_TEST(s.unit("u1")->agreed == (std::vector<WorkerId>{"w1", "w2"}));
    BOOST_REQUIRE(done.cancelled.size() == 1u);
    BOOST_TEST(done.cancelled[0].worker == "w3");
    BOOST_TEST(!s.reportResult("w3", "u1", c[0].replica, vote("x")).ignored.empty());
}

BOOST_FIXTURE_TEST_CASE(disconnect_reissues, Fixture) {
    Scheduler s(policy(2, 2), {"u1", "u2"}, clock, store);
    s.workerConnected("w1");
    s.workerConnected("w2");
    s.requestWork("w1", 2);
    s.requestWork("w2", 2);
    auto e = s.workerDisconnected("w1");
    BOOST_TEST(e.ended.size() == 2u);
    BOOST_TEST((e.ended[0].state == ReplicaState::kLost));
    BOOST_TEST(s.counts().workersConnected == 1u);
    s.workerConnected("w1");
    // Reconnected (its link flapped): its lost replicas cast no vote, so it
    // may take the same units again.
    auto again = s.requestWork("w1", 2);
    BOOST_TEST(unitsOf(again) == (std::vector<std::string>{"u1", "u2"}));
    BOOST_TEST(s.blockedUnits() == 0u);
    const auto& reps = s.replicas("u1");
    BOOST_REQUIRE(reps.size() == 3u);
    BOOST_TEST((reps[0].state == ReplicaState::kLost));
    BOOST_TEST(reps[2].worker == "w1");
    // Lost twice more, it is not given the unit a fourth time.
    for (int i = 0; i < 2; ++i) {
        s.workerDisconnected("w1");
        s.workerConnected("w1");
        BOOST_TEST(s.requestWork("w1", 2).size() == (i == 0 ? 2u : 0u));
    }
    BOOST_TEST(s.blockedUnits() == 2u); // u1 and u2 wait for a third worker
    auto c = s.requestWork("w3", 2);
    BOOST_TEST(unitsOf(c) == (std::vector<std::string>{"u1", "u2"}));
}

BOOST_FIXTURE_TEST_CASE(disagreement_issues_more_and_needs_majority, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    s.reportResult("w1", "u1", a[0].replica, vote("A"));
    auto e = s.reportResult("w2", "u1", b[0].replica, vote("B"));
    BOOST_TEST(e.validated.empty());
    // One more replica can break the tie.
    auto c = s.requestWork("w3", 5);
    BOOST_REQUIRE(c.size() == 1u);
    BOOST_TEST(s.requestWork("w4", 5).empty());
    // A third opinion: now two more are needed (A,B,C: best 1 of 3).
    s.reportResult("w3", "u1", c[0].replica, vote("C"));
    auto d = s.requestWork("w4", 1);
    auto f = s.requestWork("w5", 1);
    BOOST_REQUIRE(d.size() == 1u);
    BOOST_REQUIRE(f.size() == 1u);
    BOOST_TEST(s.requestWork("w6", 1).empty());
    s.reportResult("w4", "u1", d[0].replica, vote("A")); // A,B,C,A: 2 of 4 is no majority
    BOOST_TEST((s.unit("u1")->state == UnitState::kPending));
    auto g = s.reportResult("w5", "u1", f[0].replica, vote("A")); // 3 of 5
    BOOST_TEST(g.validated == std::vector<std::string>{"u1"});
    BOOST_TEST(s.unit("u1")->agreed == (std::vector<WorkerId>{"w1", "w4", "w5"}));
    BOOST_TEST(*s.unit("u1")->acceptedReplica == 0u);
}

BOOST_FIXTURE_TEST_CASE(quorum_without_majority_waits, Fixture) {
    // R=5, Q=2: two agreeing results are not enough while they are no majority.
    Scheduler s(policy(5, 2), {"u1"}, clock, store);
    std::vector<Assignment> as;
    for (int i = 1; i <= 5; ++i)
        as.push_back(s.requestWork("w" + std::to_string(i), 1).at(0));
    s.reportResult("w1", "u1", as[0].replica, vote("A"));
    s.reportResult("w2", "u1", as[1].replica, vote("B"));
    s.reportResult("w3", "u1", as[2].replica, vote("C"));
    auto e = s.reportResult("w4", "u1", as[3].replica, vote("A"));
    BOOST_TEST(e.validated.empty());
    auto f = s.reportResult("w5", "u1", as[4].replica, vote("B"));
    BOOST_TEST(f.validated.empty()); // A2 B2 C1 of 5
    // Needs two more: one more vote for A or B is 3 of 6, no majority either.
    auto x = s.requestWork("w6", 1);
    auto y = s.requestWork("w7", 1);
    BOOST_REQUIRE(x.size() == 1u);
    BOOST_REQUIRE(y.size() == 1u);
    s.reportResult("w6", "u1", x[0].replica, vote("B"));
    auto g = s.reportResult("w7", "u1", y[0].replica, vote("B")); // B4 of 7
    BOOST_TEST(g.validated == std::vector<std::string>{"u1"});
    BOOST_TEST(s.unit("u1")->agreed.size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(early_quorum_cancels_the_rest, Fixture) {
    Scheduler s(policy(3, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    auto c = s.requestWork("w3", 1);
    s.reportResult("w1", "u1", a[0].replica, vote("A"));
    auto e = s.reportResult("w2", "u1", b[0].replica, vote("A"));
    BOOST_TEST(e.validated == std::vector<std::string>{"u1"});
    BOOST_REQUIRE(e.cancelled.size() == 1u);
    BOOST_TEST(e.cancelled[0].worker == "w3");
    BOOST_TEST((s.replicas("u1")[2].state == ReplicaState::kCancelled));
    BOOST_TEST(!s.reportResult("w3", "u1", c[0].replica, vote("A")).ignored.empty());
    BOOST_TEST(!s.nextLeaseExpiry());
}

BOOST_FIXTURE_TEST_CASE(error_budget_fails_with_reasons, Fixture) {
    Scheduler s(policy(2, 2, /*maxErrors=*/1), {"u1", "u2"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    auto e1 = s.reportResult("w1", "u1", a[0].replica, ReplicaReport::failure("timed out"));
    BOOST_TEST(e1.failed.empty());
    BOOST_REQUIRE(e1.ended.size() == 1u);
    auto c = s.requestWork("w3", 1);
    BOOST_REQUIRE(c.size() == 1u);
    BOOST_TEST(c[0].unitId == "u1");
    auto e2 = s.reportResult("w3", "u1", c[0].replica,
                             ReplicaReport::failure("worker error: image not found"));
    BOOST_TEST(e2.failed == std::vector<std::string>{"u1"});
    BOOST_REQUIRE(e2.cancelled.size() == 1u); // w2's replica is no longer wanted
    BOOST_TEST(e2.cancelled[0].worker == "w2");
    const auto& reason = s.unit("u1")->reason;
    BOOST_TEST(reason.find("too many errors (2 > max_errors 1)") != std::string::npos, reason);
    BOOST_TEST(reason.find("timed out") != std::string::npos, reason);
    BOOST_TEST(reason.find("image not found") != std::string::npos, reason);
    BOOST_TEST(!s.finished()); // u2 still pending
    BOOST_TEST(s.counts().failed == 1u);
}

BOOST_FIXTURE_TEST_CASE(total_budget_fails, Fixture) {
    Scheduler s(policy(2, 2, 3, /*maxTotal=*/3), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    s.reportResult("w1", "u1", a[0].replica, vote("A"));
    s.reportResult("w2", "u1", b[0].replica, vote("B"));
    auto c = s.requestWork("w3", 5);
    BOOST_REQUIRE(c.size() == 1u);
    auto e = s.reportResult("w3", "u1", c[0].replica, vote("C"));
    BOOST_TEST(e.failed == std::vector<std::string>{"u1"});
    BOOST_TEST(s.requestWork("w4", 5).empty());
    const auto& reason = s.unit("u1")->reason;
    BOOST_TEST(reason.starts_with("max_total_results (3) reached without a valid result"), reason);
    BOOST_TEST(s.finished());
}

BOOST_FIXTURE_TEST_CASE(total_budget_caps_reissues, Fixture) {
    // Expiries count against the total too: no more than maxTotal replicas ever.
    Scheduler s(policy(1, 1, /*maxErrors=*/10, /*maxTotal=*/3), {"u1"}, clock, store);
    for (int i = 0; i < 3; ++i) {
        BOOST_REQUIRE(s.requestWork("w" + std::to_string(i), 1).size() == 1u);
        clock.advance(60'000);
        s.expireLeases();
    }
    BOOST_TEST(s.requestWork("w9", 1).empty());
    BOOST_TEST((s.unit("u1")->state == UnitState::kFailed));
    BOOST_TEST(s.replicas("u1").size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(give_back_is_not_an_error, Fixture) {
    Scheduler s(policy(1, 1, /*maxErrors=*/0, /*maxTotal=*/1), {"u1", "u2"}, clock, store);
    auto a = s.requestWork("w1", 2);
    BOOST_REQUIRE(a.size() == 2u);
    auto e = s.workerBye("w1", parseGivenBack({"u1/0", "u2/0", "garbage", "u3/x"}));
    BOOST_TEST(e.ended.empty());
    BOOST_TEST(e.failed.empty());
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kGivenBack));
    // Reissued although max_errors = 0 and max_total_results = 1.
    auto b = s.requestWork("w2", 2);
    BOOST_TEST(unitsOf(b) == (std::vector<std::string>{"u1", "u2"}));
    BOOST_TEST(s.counts().workersConnected == 1u);
}

BOOST_FIXTURE_TEST_CASE(has_work_for_says_whether_a_request_would_be_served, Fixture) {
    // What the submitter checks before telling a worker it answered
    // no-work that there is work again.
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    BOOST_TEST(s.hasWorkFor("w1"));
    BOOST_TEST(s.requestWork("w1", 2).size() == 1u);
    BOOST_TEST(!s.hasWorkFor("w1")); // its second replica must go elsewhere
    BOOST_TEST(s.hasWorkFor("w2"));
    BOOST_TEST(s.requestWork("w2", 2).size() == 1u);
    BOOST_TEST(!s.hasWorkFor("w3"));
    s.workerBye("w2", parseGivenBack({"u1/1"})); // given back: reissued
    BOOST_TEST(!s.hasWorkFor("w1"));
    BOOST_TEST(s.hasWorkFor("w2")); // a replica given back never voted: it may take it again
    BOOST_TEST(s.hasWorkFor("w3"));
}

BOOST_FIXTURE_TEST_CASE(a_give_back_keeps_its_checkpoint_for_the_next_replica, Fixture) {
    Scheduler s(policy(1, 1, /*maxErrors=*/0, /*maxTotal=*/1), {"u1", "u2"}, clock, store);
    auto a = s.requestWork("w1", 2);
    BOOST_REQUIRE(a.size() == 2u);
    BOOST_TEST(s.checkpointOf("u1", a[0].replica).empty());
    const std::vector<OutputFile> ckpt{{"ckpt/count", digestOf("10\n"), 3}};
    auto e = s.giveBack("w1", "u1", a[0].replica, ckpt, "the worker's schedule window closed");
    BOOST_TEST(e.ignored.empty());
    BOOST_TEST(e.ended.empty()); // not an error
    BOOST_TEST(e.failed.empty());
    const auto& r = s.replicas("u1")[0];
    BOOST_TEST((r.state == ReplicaState::kGivenBack));
    BOOST_TEST(r.reason == "given back: the worker's schedule window closed");
    BOOST_TEST((r.outputs == ckpt));
    // Committed with the replica: the journal keeps it.
    BOOST_TEST((store.batches.back().replicas.at(0).outputs == ckpt));
    // Reissued (not an attempt: max_total_results = 1), to any worker, from
    // the checkpoint; the journal records where the replica started from.
    auto b = s.requestWork("w2", 1);
    BOOST_REQUIRE(unitsOf(b) == std::vector<std::string>{"u1"});
    BOOST_TEST((s.checkpointOf("u1", b[0].replica) == ckpt));
    BOOST_TEST(
        (store.batches.back().replicas.at(0).resumedFrom == std::optional<std::uint32_t>(0)));
    // A later give-back with a checkpoint wins; one without keeps the last.
    const std::vector<OutputFile> later{{"ckpt/count", digestOf("15\n"), 3}};
    s.giveBack("w2", "u1", b[0].replica, later, "");
    auto c = s.requestWork("w1", 1);
    BOOST_REQUIRE(unitsOf(c) == std::vector<std::string>{"u1"});
    BOOST_TEST((s.checkpointOf("u1", c[0].replica) == later));
    s.giveBack("w1", "u1", c[0].replica, {}, "checkpoint not sent: too big");
    // Only a replica the worker holds in flight can be given back.
    BOOST_TEST(!s.giveBack("w1", "u1", c[0].replica, ckpt, "").ignored.empty());
    BOOST_TEST(!s.giveBack("w3", "u2", a[1].replica, ckpt, "").ignored.empty());
    BOOST_TEST(!s.giveBack("w1", "nope", 0, ckpt, "").ignored.empty());
    BOOST_TEST(s.checkpointOf("nope", 0).empty());
    BOOST_TEST(s.checkpointOf("u1", 99).empty());
    // Then a real result decides the unit; the give-backs never voted.
    auto d = s.requestWork("w3", 1);
    BOOST_REQUIRE(d.size() == 1u);
    BOOST_TEST((s.checkpointOf("u1", d[0].replica) == later));
    auto v = s.reportResult("w3", "u1", d[0].replica, vote("20"));
    BOOST_TEST(v.validated == std::vector<std::string>{"u1"});
}

BOOST_FIXTURE_TEST_CASE(a_checkpoint_seeds_at_most_one_vote, Fixture) {
    // w1 gives back a forged checkpoint. w2 resumes from it; the next
    // replica (w1 again) starts from scratch, and w2's and w1's agreeing
    // results are one vote: both rest on w1's work. Two workers that owe
    // w1 nothing decide the unit.
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    BOOST_REQUIRE(a.size() == 1u);
    const std::vector<OutputFile> forged{{"ckpt/state", digestOf("forged"), 6}};
    s.giveBack("w1", "u1", a[0].replica, forged, "");
    auto b = s.requestWork("w2", 1);
    BOOST_REQUIRE(b.size() == 1u);
    BOOST_TEST((s.checkpointOf("u1", b[0].replica) == forged));
    auto c = s.requestWork("w1", 1);
    BOOST_REQUIRE(c.size() == 1u);
    BOOST_TEST(s.checkpointOf("u1", c[0].replica).empty());
    BOOST_TEST(s.reportResult("w2", "u1", b[0].replica, vote("BAD")).validated.empty());
    BOOST_TEST(s.reportResult("w1", "u1", c[0].replica, vote("BAD")).validated.empty());
    BOOST_TEST((s.unit("u1")->state == UnitState::kPending));
    auto d = s.requestWork("w3", 1);
    BOOST_REQUIRE(d.size() == 1u);
    BOOST_TEST(s.checkpointOf("u1", d[0].replica).empty()); // w1's checkpoint is in a vote
    BOOST_TEST(s.reportResult("w3", "u1", d[0].replica, vote("GOOD")).validated.empty());
    auto e = s.requestWork("w4", 1);
    BOOST_REQUIRE(e.size() == 1u);
    BOOST_TEST(s.reportResult("w4", "u1", e[0].replica, vote("GOOD")).validated ==
               std::vector<std::string>{"u1"});
    BOOST_TEST((s.unit("u1")->digest == s.replicas("u1")[d[0].replica].digest));
}

BOOST_FIXTURE_TEST_CASE(a_worker_giving_back_at_once_is_not_served_forever, Fixture) {
    Scheduler s(policy(1, 1), {"u1"}, clock, store);
    std::size_t takes = 0;
    for (int i = 0; i < 10; ++i) {
        auto a = s.requestWork("w1", 1);
        if (a.empty())
            break;
        ++takes;
        s.giveBack("w1", "u1", a[0].replica, {}, "");
    }
    BOOST_TEST(takes == 3u);
    BOOST_TEST(!s.hasWorkFor("w1"));
    BOOST_TEST(s.hasWorkFor("w2"));
}

BOOST_FIXTURE_TEST_CASE(bye_without_give_back_is_lost, Fixture) {
    Scheduler s(policy(1, 1, /*maxErrors=*/0), {"u1", "u2"}, clock, store);
    s.requestWork("w1", 2);
    auto e = s.workerBye("w1", parseGivenBack({"u1/0"}));
    BOOST_REQUIRE(e.ended.size() == 1u);
    BOOST_TEST(e.ended[0].unitId == "u2");
    BOOST_TEST((e.ended[0].state == ReplicaState::kLost));
    BOOST_TEST(e.failed == std::vector<std::string>{"u2"}); // max_errors = 0
}

BOOST_FIXTURE_TEST_CASE(results_from_the_wrong_worker_are_ignored, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    BOOST_TEST(s.reportResult("w2", "u1", a[0].replica, vote("A")).ignored ==
               "replica not assigned to this worker");
    BOOST_TEST(s.reportResult("w1", "nope", 0, vote("A")).ignored == "unknown unit");
    BOOST_TEST(s.reportResult("w1", "u1", 7, vote("A")).ignored ==
               "replica not assigned to this worker");
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kInFlight));
}

BOOST_FIXTURE_TEST_CASE(many_units_many_workers_complete, Fixture) {
    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i)
        ids.push_back("u" + std::to_string(i));
    Scheduler s(policy(2, 2), ids, clock, store);
    const std::vector<WorkerId> workers{"w1", "w2", "w3"};
    for (int round = 0; round < 200 && !s.finished(); ++round) {
        for (const auto& w : workers) {
            for (const auto& a : s.requestWork(w, 2))
                s.reportResult(w, a.unitId, a.replica, vote(a.unitId));
        }
    }
    BOOST_TEST(s.finished());
    BOOST_TEST(s.counts().valid == 50u);
    for (const auto& id : ids)
        BOOST_TEST(s.replicas(id).size() == 2u);
}

ReplicaReport refusal(std::string why) {
    auto r = ReplicaReport::failure(std::move(why));
    r.refused = true;
    return r;
}

// max_errors 0: one error would fail the unit; refusals must not.
BOOST_FIXTURE_TEST_CASE(refusals_do_not_burn_the_error_budget, Fixture) {
    Scheduler s(policy(1, 1, 0, 4), {"u1"}, clock, store);
    for (const char* w : {"w1", "w2", "w3"}) {
        auto a = s.requestWork(w, 1);
        BOOST_REQUIRE(a.size() == 1u);
        auto fx = s.reportResult(w, "u1", a[0].replica, refusal("image not allowed"));
        BOOST_TEST(fx.failed.empty());
        BOOST_REQUIRE(fx.ended.size() == 1u); // reported, as the errors are
        BOOST_TEST((fx.ended[0].state == ReplicaState::kRefused));
    }
    BOOST_TEST((s.unit("u1")->state == UnitState::kPending));
    BOOST_TEST(stateName(ReplicaState::kRefused) == "refused");
    BOOST_TEST((store.batches.back().replicas.back().state == ReplicaState::kRefused));
    // A worker that refused is not asked again.
    BOOST_TEST(s.requestWork("w1", 1).empty());
    BOOST_TEST(!s.hasWorkFor("w2"));
    // A plain error still counts: the unit fails on it.
    auto a = s.requestWork("w4", 1);
    BOOST_REQUIRE(a.size() == 1u);
    auto fx = s.reportResult("w4", "u1", a[0].replica, ReplicaReport::failure("exit 3"));
    BOOST_TEST(fx.failed == std::vector<std::string>{"u1"});
}

BOOST_FIXTURE_TEST_CASE(refusals_count_against_max_total_results, Fixture) {
    Scheduler s(policy(1, 1, 5, 2), {"u1"}, clock, store);
    for (const char* w : {"w1", "w2"}) {
        auto a = s.requestWork(w, 1);
        BOOST_REQUIRE(a.size() == 1u);
        (void)s.reportResult(w, "u1", a[0].replica, refusal("memory"));
    }
    BOOST_TEST((s.unit("u1")->state == UnitState::kFailed));
    BOOST_TEST(s.unit("u1")->reason.find("2 refused by workers") != std::string::npos,
               s.unit("u1")->reason);
    BOOST_TEST(s.requestWork("w3", 1).empty());
}

BOOST_AUTO_TEST_CASE(report_from_wire_result) {
    swarm::wire::Result r;
    r.exitCode = 0;
    r.outputs.push_back({"stdout", digestOf("x").bytes, 1});
    r.outputs.push_back({"out/a", digestOf("y").bytes, 1});
    auto ok = reportFromResult(r);
    BOOST_TEST(ok.error.empty());
    BOOST_REQUIRE(ok.digest);
    BOOST_TEST(ok.outputs.size() == 2u);

    auto t = r;
    t.timedOut = true;
    BOOST_TEST(reportFromResult(t).error == "timed out");
    auto o = r;
    o.oomKilled = true;
    BOOST_TEST(reportFromResult(o).error == "killed: out of memory");
    auto w = r;
    w.error = "no such image";
    BOOST_TEST(reportFromResult(w).error == "worker error: no such image");
    BOOST_TEST(!reportFromResult(w).refused);
    auto refused = w;
    refused.refused = true;
    BOOST_TEST(reportFromResult(refused).refused);
    BOOST_TEST(reportFromResult(refused).error == "refused by the worker: no such image");
    auto esc = r;
    esc.outputs.push_back({"../../etc/passwd", digestOf("z").bytes, 1});
    BOOST_TEST(reportFromResult(esc).error.starts_with("bad result: "));
    auto dup = r;
    dup.outputs.push_back({"stdout", digestOf("z").bytes, 1});
    BOOST_TEST(reportFromResult(dup).error == "bad result: output 'stdout' listed twice");
}

BOOST_AUTO_TEST_CASE(cancel_all_gives_back_without_cost) {
    Fixture f;
    Scheduler s(policy(2, 2, 0, 2), {"u0", "u1"}, f.clock, f.store);
    auto a = s.requestWork("w1", 2);
    auto b = s.requestWork("w2", 2);
    s.reportResult("w1", "u0", a[0].replica, vote("zero"));
    auto fx = s.cancelAll();
    BOOST_TEST(fx.cancelled.size() == 3u);
    BOOST_TEST(fx.ended.empty()); // no errors
    BOOST_TEST(s.counts().inFlightReplicas == 0u);
    BOOST_TEST(s.counts().failed == 0u);
    for (const auto& id : {"u0", "u1"})
        for (const auto& r : s.replicas(id))
            if (r.state != ReplicaState::kSucceeded) {
                BOOST_TEST((r.state == ReplicaState::kGivenBack));
                BOOST_TEST(r.reason == kResearcherCancel);
            }
    // max_total_results is 2 and the workers held these units: they may
    // take them again, and the units still validate.
    auto again1 = s.requestWork("w1", 2);
    auto again2 = s.requestWork("w2", 2);
    BOOST_TEST(unitsOf(again1) == (std::vector<std::string>{"u1"}));
    BOOST_TEST(again2.size() == 2u);
    s.reportResult("w2", "u0", again2[0].replica, vote("zero"));
    BOOST_TEST((s.unit("u0")->state == UnitState::kValid));
}

BOOST_AUTO_TEST_CASE(error_reports_keep_their_logs) {
    swarm::wire::Result r;
    r.exitCode = 3;
    r.error = "outputs refused: too big";
    r.stderrTruncated = true;
    r.outputs.push_back({"stdout", digestOf("x").bytes, 1});
    r.outputs.push_back({"stderr", digestOf("e").bytes, 1});
    r.outputs.push_back({"out/a", digestOf("y").bytes, 1});
    auto rep = reportFromResult(r);
    BOOST_TEST(!rep.error.empty());
    BOOST_TEST(rep.exitCode == 3);
    BOOST_REQUIRE(rep.outputs.size() == 2u);
    BOOST_TEST(rep.outputs[0].name == "stdout");
    BOOST_TEST(!rep.outputs[0].truncated);
    BOOST_TEST(rep.outputs[1].name == "stderr");
    BOOST_TEST(rep.outputs[1].truncated);

    Fixture f;
    Scheduler s(policy(1, 1), {"u0"}, f.clock, f.store);
    auto a = s.requestWork("w1", 1);
    s.reportResult("w1", "u0", a[0].replica, rep);
    BOOST_TEST(s.replicas("u0")[0].outputs.size() == 2u);
    BOOST_TEST(s.replicas("u0")[0].exitCode == 3);
}

BOOST_AUTO_TEST_CASE(given_back_parsing) {
    auto g = parseGivenBack({"u1/0", "a.txt/12", "/3", "u1/", "u1", "u1/-1", "u1/2x"});
    BOOST_REQUIRE(g.size() == 2u);
    BOOST_TEST(g[0].first == "u1");
    BOOST_TEST(g[0].second == 0u);
    BOOST_TEST(g[1].first == "a.txt");
    BOOST_TEST(g[1].second == 12u);
}

// A killed run's replicas still in flight, restored by a resumed run.
struct Resumed : Fixture {
    RecordingStore firstStore;
    std::unique_ptr<Scheduler> first;
    std::unique_ptr<Scheduler> s;
    Effects restored;
    Resumed() {
        first = std::make_unique<Scheduler>(policy(2, 2), std::vector<std::string>{"u1", "u2"},
                                            clock, firstStore);
        BOOST_REQUIRE(first->requestWork("w1", 2).size() == 2u);
        BOOST_REQUIRE(first->requestWork("w2", 2).size() == 2u);
        clock.advance(20'000); // killed, resumed 20 s later: leases last 40 s more
        s = std::make_unique<Scheduler>(policy(2, 2), std::vector<std::string>{"u1", "u2"}, clock,
                                        store);
        restored = s->restore(first->snapshot());
    }
};

BOOST_FIXTURE_TEST_CASE(restore_keeps_replicas_whose_lease_lasts_in_flight, Resumed) {
    BOOST_TEST(restored.ended.empty());
    for (const auto& r : s->replicas("u1"))
        BOOST_TEST((r.state == ReplicaState::kInFlight));
    BOOST_TEST(s->counts().inFlightReplicas == 4u);
    BOOST_TEST(s->requestWork("w3", 2).empty()); // nothing looks needy: not reissued
    BOOST_TEST(!s->hasWorkFor("w3"));
    // Their results count, from whichever session of the named worker.
    s->workerConnected("w1");
    s->reportResult("w1", "u1", 0, vote("one"));
    auto e = s->reportResult("w2", "u1", 1, vote("one"));
    BOOST_TEST(e.validated == std::vector<std::string>{"u1"});
    // Another worker cannot report for them.
    BOOST_TEST(!s->reportResult("w3", "u2", 0, vote("two")).ignored.empty());
}

BOOST_FIXTURE_TEST_CASE(a_restored_replica_whose_worker_never_came_back_ends_abandoned, Resumed) {
    s->workerConnected("w1"); // w1 came back and confirmed u1's; w2 never did
    BOOST_TEST(s->reportProgress("w1", "u1", 0));
    clock.advance(40'000);
    auto e = s->expireLeases();
    BOOST_TEST((s->replicas("u1")[0].state == ReplicaState::kExpired));   // confirmed: an error
    BOOST_TEST((s->replicas("u2")[0].state == ReplicaState::kAbandoned)); // never confirmed
    for (const auto& id : {"u1", "u2"})
        BOOST_TEST((s->replicas(id)[1].state == ReplicaState::kAbandoned));
    BOOST_TEST(e.ended.size() == 1u);                 // only the expired one counts as an error
    BOOST_TEST(s->requestWork("w3", 2).size() == 2u); // reissued now
}

// A worker that comes back without a word of a restored replica (restarted
// and lost it, or too old to hold results) gives it up within a minute, not
// at the end of its lease, and not as an error.
BOOST_AUTO_TEST_CASE(a_restored_replica_its_worker_does_not_confirm_is_abandoned_soon) {
    ManualClock clock;
    RecordingStore firstStore, store;
    auto slow = policy(1, 1);
    slow.leaseMs = 3'600'000;
    Scheduler first(slow, {"u1"}, clock, firstStore);
    BOOST_REQUIRE(first.requestWork("w1", 1).size() == 1u);
    Scheduler s(slow, {"u1"}, clock, store);
    s.restore(first.snapshot());
    clock.advance(600'000); // not connected yet: it waits
    BOOST_TEST(s.expireLeases().ended.empty());
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kInFlight));
    s.workerConnected("w1");
    BOOST_TEST(*s.nextLeaseExpiry() == clock.nowMs() + 60'000);
    clock.advance(59'000);
    s.expireLeases();
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kInFlight));
    clock.advance(1'000);
    auto e = s.expireLeases();
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kAbandoned));
    BOOST_TEST(e.ended.empty());
    BOOST_TEST(s.requestWork("w1", 1).size() == 1u); // reissued, to it too
}

BOOST_AUTO_TEST_CASE(restore_abandons_replicas_whose_lease_ran_out) {
    ManualClock clock;
    RecordingStore store;
    Scheduler first(policy(1, 1), {"u1"}, clock, store);
    BOOST_REQUIRE(first.requestWork("w1", 1).size() == 1u);
    clock.advance(60'000);
    Scheduler s(policy(1, 1), {"u1"}, clock, store);
    auto e = s.restore(first.snapshot());
    BOOST_TEST(e.ended.empty());
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kAbandoned));
    BOOST_TEST(s.requestWork("w1", 1).size() == 1u); // may take it again
}

BOOST_FIXTURE_TEST_CASE(late_votes_count_while_the_unit_is_pending, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    s.workerDisconnected("w1"); // lost, reissued
    auto c = s.requestWork("w3", 1);
    BOOST_REQUIRE(c.size() == 1u);
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kLost));
    // w1 kept its result and delivers it later: a vote.
    auto e = s.reportResult("w1", "u1", a[0].replica, vote("x"));
    BOOST_TEST(e.ignored.empty());
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kSucceeded));
    e = s.reportResult("w2", "u1", b[0].replica, vote("x"));
    BOOST_TEST(e.validated == std::vector<std::string>{"u1"});
    BOOST_REQUIRE(e.cancelled.size() == 1u); // w3's replica is not needed any more
    BOOST_TEST(e.cancelled[0].worker == "w3");
    // Once decided, a late result is ignored as before.
    BOOST_TEST(!s.reportResult("w3", "u1", c[0].replica, vote("x")).ignored.empty());
}

BOOST_FIXTURE_TEST_CASE(a_late_vote_never_gives_a_worker_two_votes, Fixture) {
    Scheduler s(policy(3, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    s.requestWork("w2", 1);
    s.requestWork("w3", 1);
    s.workerDisconnected("w1");
    auto again = s.requestWork("w1", 1); // a lost replica may be retaken
    BOOST_REQUIRE(again.size() == 1u);
    s.reportResult("w1", "u1", again[0].replica, vote("x"));
    auto e = s.reportResult("w1", "u1", a[0].replica, vote("x"));
    BOOST_TEST(!e.ignored.empty());
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kLost));
}

BOOST_FIXTURE_TEST_CASE(progress_extends_the_lease_of_the_worker_that_holds_it, Fixture) {
    Scheduler s(policy(1, 1), {"u1", "u2"}, clock, store);
    auto a = s.requestWork("w1", 1);
    auto b = s.requestWork("w2", 1);
    BOOST_REQUIRE(a.size() == 1u);
    BOOST_REQUIRE(b.size() == 1u);
    clock.advance(50'000);
    const auto commits = store.batches.size();
    BOOST_TEST(s.reportProgress("w1", "u1", a[0].replica));
    BOOST_TEST(store.batches.size() == commits + 1); // committed
    BOOST_TEST(s.replicas("u1")[0].leaseExpiresMs == clock.nowMs() + 60'000);
    // A worker cannot keep another worker's replica alive: told to cancel.
    BOOST_TEST(!s.reportProgress("w1", "u2", b[0].replica));
    BOOST_TEST(s.replicas("u2")[0].leaseExpiresMs == b[0].leaseExpiresMs);
    clock.advance(20'000); // 70 s after issue: w2's lease ran out, w1's did not
    auto e = s.expireLeases();
    BOOST_REQUIRE(e.ended.size() == 1u);
    BOOST_TEST(e.ended[0].unitId == "u2");
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kInFlight));
    BOOST_TEST(*s.nextLeaseExpiry() == clock.nowMs() - 20'000 + 60'000);
}

// Lost (its session dropped) while the unit runs on: the worker's progress
// is not answered with a cancel, as its result will still count.
BOOST_FIXTURE_TEST_CASE(progress_for_a_replica_that_may_still_vote_is_left_running, Fixture) {
    Scheduler s(policy(2, 2), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    s.requestWork("w2", 1);
    s.workerDisconnected("w1");
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kLost));
    BOOST_TEST(s.reportProgress("w1", "u1", a[0].replica));
    BOOST_TEST(!s.reportProgress("w2", "u1", a[0].replica));        // not w2's
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kLost)); // no lease for it
}

// Progress is committed at most about twice a lease span, and keeps a
// replica alive at most four spans after it was issued.
BOOST_FIXTURE_TEST_CASE(progress_extends_a_lease_within_bounds, Fixture) {
    Scheduler s(policy(1, 1), {"u1"}, clock, store);
    auto a = s.requestWork("w1", 1);
    const auto issued = a[0].leaseExpiresMs - 60'000;
    const auto commits = store.batches.size();
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(s.reportProgress("w1", "u1", a[0].replica));
    BOOST_TEST(store.batches.size() == commits); // more than half the lease left
    for (int step = 0; step < 20; ++step) {
        clock.advance(40'000);
        s.reportProgress("w1", "u1", a[0].replica);
        s.expireLeases();
    }
    // 800 s after issue with a 60 s lease: the lease stopped at 240 s.
    BOOST_TEST((s.replicas("u1")[0].state == ReplicaState::kExpired));
    BOOST_TEST(s.replicas("u1")[0].leaseExpiresMs == issued + 240'000);
}

BOOST_FIXTURE_TEST_CASE(progress_for_a_replica_not_held_in_flight_is_cancelled, Fixture) {
    Scheduler s(policy(1, 1), {"u1", "u2"}, clock, store);
    auto a = s.requestWork("w1", 2);
    BOOST_REQUIRE(a.size() == 2u);
    s.reportResult("w1", "u1", a[0].replica, vote("x")); // decided
    BOOST_TEST(!s.reportProgress("w1", "u1", a[0].replica));
    s.workerBye("w1", {{"u2", a[1].replica}}); // given back
    BOOST_TEST(!s.reportProgress("w1", "u2", a[1].replica));
    BOOST_TEST(!s.reportProgress("w1", "u2", 7));   // never issued
    BOOST_TEST(!s.reportProgress("w1", "nope", 0)); // unknown unit
}

BOOST_AUTO_TEST_SUITE_END()

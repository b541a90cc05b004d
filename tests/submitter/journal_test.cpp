#include "submitter/journal.hpp"
#include "submitter/scheduler.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>
#include <sqlite3.h>

#include <map>
#include <memory>

using namespace swarm::submitter;
using swarm::test::TempDir;
using swarm::wire::ManualClock;
namespace fs = std::filesystem;

namespace {

ReplicaReport vote(std::string_view content) {
    return ReplicaReport::success(
        0, {{"stdout", swarm::wire::sha256(swarm::wire::asBytes(content)), content.size()}});
}

JobSpec makeJob(const TempDir& dir, int units, std::uint32_t r, std::uint32_t q,
                std::uint32_t maxErrors = 3, std::uint32_t maxTotal = 10) {
    JobSpec job;
    job.name = "test";
    job.image.reference = "localhost/img";
    job.command = {"cat", "{}"};
    job.policy.replicas = r;
    job.policy.quorum = q;
    job.policy.maxErrors = maxErrors;
    job.policy.maxTotalResults = maxTotal;
    job.policy.leaseMs = 60'000;
    job.timeoutMs = 10'000;
    for (int i = 0; i < units; ++i) {
        const std::string id = "u" + std::to_string(i);
        const auto file = dir.write("in/" + id + ".txt", id);
        job.units.push_back({id, {{file, id + ".txt"}}});
    }
    return job;
}

std::vector<std::string> ids(const JobSpec& job) {
    std::vector<std::string> out;
    for (const auto& u : job.units)
        out.push_back(u.id);
    return out;
}

// What kill -9 leaves behind: the database and its WAL exactly as they are on
// disk right now (no checkpoint, no clean close), copied to a new directory.
void crashImage(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const char* name : {"journal.sqlite", "journal.sqlite-wal"}) {
        if (fs::exists(from / name))
            fs::copy_file(from / name, to / name);
    }
}

// One submitter run over a job directory.
struct Run {
    std::unique_ptr<Journal> journal;
    std::unique_ptr<Scheduler> sched;
    Effects restored;

    Run(const fs::path& dir, const ReplicationPolicy& policy, const std::vector<std::string>& units,
        const ManualClock& clock) {
        journal = std::make_unique<Journal>(Journal::open(dir));
        sched = std::make_unique<Scheduler>(policy, units, clock, *journal);
        restored = sched->restore(journal->load());
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(journal)

BOOST_AUTO_TEST_CASE(create_commit_reopen) {
    TempDir dir;
    const auto job = makeJob(dir, 3, 2, 2);
    const auto jobDir = dir / "job";
    ManualClock clock;
    {
        auto j = Journal::create(jobDir, job);
        BOOST_TEST(Journal::exists(jobDir));
        Scheduler s(job.policy, ids(job), clock, j);
        auto a = s.requestWork("w1", 3);
        auto b = s.requestWork("w2", 3);
        s.reportResult("w1", "u0", a[0].replica, vote("zero"));
        s.reportResult("w2", "u0", b[0].replica, vote("zero"));
        s.reportResult("w1", "u1", a[1].replica, ReplicaReport::failure("timed out"));
    }
    {
        // `swarm-submit status` after the run ended: read-only, no lock.
        auto ro = Journal::open(jobDir, Journal::Access::kReadOnly);
        BOOST_TEST(ro.load().units.size() == 3u);
    }
    auto j = Journal::open(jobDir);
    auto snap = j.load();
    BOOST_REQUIRE(snap.units.size() == 3u);
    BOOST_TEST(snap.units[0].id == "u0");
    BOOST_TEST((snap.units[0].state == UnitState::kValid));
    BOOST_TEST(snap.units[0].agreed == (std::vector<WorkerId>{"w1", "w2"}));
    BOOST_TEST(*snap.units[0].acceptedReplica == 0u);
    BOOST_TEST((snap.units[1].state == UnitState::kPending));
    BOOST_REQUIRE(snap.replicas.size() == 6u);
    BOOST_TEST(snap.replicas[0].unitId == "u0");
    BOOST_TEST(snap.replicas[0].outputs.size() == 1u);
    BOOST_TEST(snap.replicas[0].outputs[0].name == "stdout");
    BOOST_TEST((snap.replicas[2].state == ReplicaState::kErrored));
    BOOST_TEST(snap.replicas[2].reason == "timed out");
    BOOST_TEST(snap.replicas[3].leaseExpiresMs == clock.nowMs() + 60'000);
    auto stored = j.job();
    BOOST_REQUIRE_MESSAGE(stored, (stored ? "" : stored.error().what));
    BOOST_TEST(stored->units.size() == 3u);
    BOOST_TEST(stored->command == job.command);
    BOOST_TEST(stored->units[2].inputs[0].source == job.units[2].inputs[0].source);

    BOOST_TEST(j.inputListing().empty());
    j.recordInputListing("u0\tin\tsha256:00\t1\n");
    j.recordInputListing("u0\tin\tsha256:11\t2\n");
    BOOST_TEST(Journal::open(jobDir, Journal::Access::kReadOnly).inputListing() ==
               "u0\tin\tsha256:11\t2\n");
}

BOOST_AUTO_TEST_CASE(errored_replicas_keep_their_logs_and_truncation) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 2, 2);
    const auto jobDir = dir / "job";
    ManualClock clock;
    {
        auto j = Journal::create(jobDir, job);
        Scheduler s(job.policy, ids(job), clock, j);
        auto a = s.requestWork("w1", 1);
        OutputFile out{"stdout", swarm::wire::sha256(swarm::wire::asBytes("o")), 1};
        out.truncated = true;
        OutputFile err{"stderr", swarm::wire::sha256(swarm::wire::asBytes("boom")), 4};
        s.reportResult("w1", "u0", a[0].replica,
                       ReplicaReport::failure("worker error: exit", {out, err}, 3));
    }
    auto snap = Journal::open(jobDir, Journal::Access::kReadOnly).load();
    BOOST_REQUIRE(snap.replicas.size() == 1u);
    const auto& r = snap.replicas[0];
    BOOST_TEST((r.state == ReplicaState::kErrored));
    BOOST_TEST(r.exitCode == 3);
    BOOST_REQUIRE(r.outputs.size() == 2u);
    BOOST_TEST(r.outputs[0].name == "stderr");
    BOOST_TEST(!r.outputs[0].truncated);
    BOOST_TEST(r.outputs[1].name == "stdout");
    BOOST_TEST(r.outputs[1].truncated);
}

BOOST_AUTO_TEST_CASE(a_replica_keeps_the_checkpoint_it_started_from) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 1, 1);
    const auto jobDir = dir / "job";
    ManualClock clock;
    {
        auto j = Journal::create(jobDir, job);
        Scheduler s(job.policy, ids(job), clock, j);
        auto a = s.requestWork("w1", 1);
        OutputFile ckpt{"ckpt/n", swarm::wire::sha256(swarm::wire::asBytes("7")), 1};
        s.giveBack("w1", "u0", a[0].replica, {ckpt}, "");
        BOOST_REQUIRE(s.requestWork("w2", 1).size() == 1u);
    }
    {
        auto j = Journal::open(jobDir);
        auto snap = j.load();
        BOOST_REQUIRE(snap.replicas.size() == 2u);
        BOOST_TEST(!snap.replicas[0].resumedFrom);
        BOOST_TEST((snap.replicas[1].resumedFrom == std::optional<std::uint32_t>(0)));
        Scheduler s(job.policy, ids(job), clock, j);
        s.restore(snap);
        BOOST_TEST(s.checkpointOf("u0", 1).size() == 1u);
    }

    // A journal from before checkpoints reads (no origins), and gets the
    // column on its first read-write open.
    {
        sqlite3* db = nullptr;
        BOOST_REQUIRE(sqlite3_open(Journal::path(jobDir).c_str(), &db) == SQLITE_OK);
        BOOST_REQUIRE(sqlite3_exec(db, "ALTER TABLE replicas DROP COLUMN resumed_from", nullptr,
                                   nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    BOOST_TEST(!Journal::open(jobDir, Journal::Access::kReadOnly).load().replicas[1].resumedFrom);
    BOOST_TEST(Journal::open(jobDir).load().replicas.size() == 2u);
}

BOOST_AUTO_TEST_CASE(cancel_offline_gives_back_and_a_resume_reissues) {
    TempDir dir;
    const auto job = makeJob(dir, 2, 2, 2, 0, 2);
    const auto jobDir = dir / "job";
    ManualClock clock;
    {
        auto j = Journal::create(jobDir, job);
        Scheduler s(job.policy, ids(job), clock, j);
        s.requestWork("w1", 2);
        s.requestWork("w2", 1);
    }
    {
        auto j = Journal::open(jobDir);
        BOOST_TEST(!j.cancelledAt());
        const auto tally = j.cancelOffline(1234);
        BOOST_TEST(tally.replicas == 3u);
        BOOST_TEST(tally.workers == 2u);
    }
    auto j = Journal::open(jobDir);
    BOOST_TEST((j.cancelledAt() == std::optional<std::int64_t>(1234)));
    auto snap = j.load();
    for (const auto& r : snap.replicas) {
        BOOST_TEST((r.state == ReplicaState::kGivenBack));
        BOOST_TEST(r.reason == kResearcherCancel);
    }
    j.clearCancel();
    BOOST_TEST(!j.cancelledAt());
    // Given back by the researcher: neither errors (max_errors 0) nor
    // against max_total_results (2), and the same workers may take them.
    Scheduler s(job.policy, ids(job), clock, j);
    s.restore(snap);
    BOOST_TEST(s.requestWork("w1", 2).size() == 2u);
    BOOST_TEST(s.requestWork("w2", 2).size() == 2u);
    BOOST_TEST(s.counts().failed == 0u);
}

BOOST_AUTO_TEST_CASE(batch_id_is_made_once_and_kept) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 1, 1);
    const auto jobDir = dir / "job";
    std::string id;
    {
        auto j = Journal::create(jobDir, job);
        id = j.batchId();
    }
    BOOST_TEST(id.size() == 32u);
    BOOST_TEST(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    BOOST_TEST(Journal::open(jobDir).batchId() == id);
    BOOST_TEST(Journal::open(jobDir, Journal::Access::kReadOnly).batchId() == id);
    // Another job's journal gets another batch.
    BOOST_TEST(Journal::create(dir / "other", job).batchId() != id);

    // A journal from before batch ids: one is made on its first read-write
    // open, and kept from then on.
    {
        sqlite3* db = nullptr;
        BOOST_REQUIRE(sqlite3_open(Journal::path(jobDir).c_str(), &db) == SQLITE_OK);
        BOOST_REQUIRE(sqlite3_exec(db, "DELETE FROM meta WHERE key = 'batch'", nullptr, nullptr,
                                   nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    BOOST_TEST(Journal::open(jobDir, Journal::Access::kReadOnly).batchId().empty());
    const auto made = Journal::open(jobDir).batchId();
    BOOST_TEST(made.size() == 32u);
    BOOST_TEST(made != id);
    BOOST_TEST(Journal::open(jobDir).batchId() == made);
}

BOOST_AUTO_TEST_CASE(kill_and_resume_keeps_valid_units_and_reissues_in_flight) {
    TempDir dir;
    const auto job = makeJob(dir, 4, 2, 2, /*maxErrors=*/0);
    const auto first = dir / "run1";
    const auto second = dir / "run2";
    ManualClock clock;
    std::map<std::string, int> validatedCount;
    {
        auto j = Journal::create(first, job);
        Scheduler s(job.policy, ids(job), clock, j);
        auto a = s.requestWork("w1", 4);
        auto b = s.requestWork("w2", 4);
        for (int u = 0; u < 2; ++u) {
            const auto id = "u" + std::to_string(u);
            s.reportResult("w1", id, a[u].replica, vote(id));
            for (const auto& v : s.reportResult("w2", id, b[u].replica, vote(id)).validated)
                ++validatedCount[v];
        }
        // u2, u3 are in flight on w1 and w2 when the submitter is killed.
        crashImage(first, second);
    } // the original object goes away; only the crash image is used from here

    clock.advance(61'000); // resumed after their leases ran out
    Run run(second, job.policy, ids(job), clock);
    BOOST_TEST(run.restored.validated.empty());
    BOOST_TEST(run.restored.failed.empty()); // abandoned replicas are not errors
    BOOST_TEST(run.sched->counts().valid == 2u);
    BOOST_TEST((run.sched->replicas("u2")[0].state == ReplicaState::kAbandoned));
    // The same workers may take the abandoned units again (they never finished them).
    auto a = run.sched->requestWork("w1", 4);
    auto b = run.sched->requestWork("w2", 4);
    BOOST_TEST(a.size() == 2u);
    BOOST_TEST(b.size() == 2u);
    for (const auto& x : a)
        BOOST_TEST((x.unitId == "u2" || x.unitId == "u3"));
    for (std::size_t i = 0; i < a.size(); ++i) {
        run.sched->reportResult("w1", a[i].unitId, a[i].replica, vote(a[i].unitId));
        for (const auto& v :
             run.sched->reportResult("w2", b[i].unitId, b[i].replica, vote(b[i].unitId)).validated)
            ++validatedCount[v];
    }
    BOOST_TEST(run.sched->finished());
    BOOST_TEST(validatedCount.size() == 4u);
    for (const auto& [id, n] : validatedCount)
        BOOST_TEST(n == 1, id << " validated " << n << " times");
    const auto snap = run.journal->load();
    for (const auto& u : snap.units)
        BOOST_TEST((u.state == UnitState::kValid));
    BOOST_TEST(run.sched->replicas("u2").size() == 4u); // 2 abandoned + 2 new
    BOOST_TEST(run.sched->replicas("u0").size() == 2u); // never redone
}

BOOST_AUTO_TEST_CASE(abandoned_replicas_count_against_total_budget) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 2, 2, /*maxErrors=*/5, /*maxTotal=*/3);
    const auto jobDir = dir / "job";
    ManualClock clock;
    {
        auto j = Journal::create(jobDir, job);
        Scheduler s(job.policy, ids(job), clock, j);
        BOOST_REQUIRE(s.requestWork("w1", 1).size() == 1u);
        BOOST_REQUIRE(s.requestWork("w2", 1).size() == 1u);
    }                      // killed with both in flight
    clock.advance(60'000); // and resumed once their leases ran out
    Run run(jobDir, job.policy, ids(job), clock);
    auto a = run.sched->requestWork("w1", 1);
    BOOST_REQUIRE(a.size() == 1u);
    BOOST_TEST(run.sched->requestWork("w2", 1).empty()); // budget: 2 abandoned + 1 = 3
    auto e = run.sched->reportResult("w1", "u0", a[0].replica, vote("x"));
    BOOST_TEST(e.failed == std::vector<std::string>{"u0"});
    BOOST_TEST(run.sched->unit("u0")->reason.starts_with("max_total_results (3) reached"));
}

BOOST_AUTO_TEST_CASE(repeated_crashes_never_exceed_budget_or_validate_twice) {
    TempDir dir;
    const auto job = makeJob(dir, 6, 2, 2, /*maxErrors=*/3, /*maxTotal=*/10);
    ManualClock clock;
    fs::path current = dir / "run0";
    { Journal::create(current, job); }
    std::map<std::string, int> validatedCount;
    for (int round = 1; round <= 12; ++round) {
        Run run(current, job.policy, ids(job), clock);
        for (const auto& v : run.restored.validated)
            ++validatedCount[v];
        if (run.sched->finished())
            break;
        // Each run completes at most one unit before it is killed.
        const WorkerId w1 = "w" + std::to_string(round % 3);
        const WorkerId w2 = "w" + std::to_string((round + 1) % 3);
        auto a = run.sched->requestWork(w1, 3);
        auto b = run.sched->requestWork(w2, 3);
        for (const auto& x : a) {
            auto y = std::find_if(b.begin(), b.end(),
                                  [&](const Assignment& z) { return z.unitId == x.unitId; });
            if (y == b.end())
                continue;
            run.sched->reportResult(w1, x.unitId, x.replica, vote(x.unitId));
            auto e = run.sched->reportResult(w2, y->unitId, y->replica, vote(y->unitId));
            for (const auto& v : e.validated)
                ++validatedCount[v];
            break;
        }
        const fs::path next = dir / ("run" + std::to_string(round));
        crashImage(current, next);
        current = next;
        clock.advance(60'000); // resumed once the leases ran out
    }
    Run last(current, job.policy, ids(job), clock);
    const auto snap = last.journal->load();
    for (const auto& id : ids(job)) {
        const auto& reps = last.sched->replicas(id);
        std::size_t issued = 0;
        for (const auto& r : reps)
            issued += countsAsIssued(r.state);
        BOOST_TEST(issued <= job.policy.maxTotalResults, id);
        BOOST_TEST(validatedCount[id] <= 1, id << " validated " << validatedCount[id] << " times");
    }
    for (const auto& u : snap.units) {
        if (u.state == UnitState::kValid)
            BOOST_TEST(validatedCount[u.id] == 1, u.id);
    }
    BOOST_TEST(last.sched->counts().valid >= 5u);
}

BOOST_AUTO_TEST_CASE(decided_units_cannot_change) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 1, 1);
    auto j = Journal::create(dir / "job", job);
    ManualClock clock;
    Scheduler s(job.policy, ids(job), clock, j);
    auto a = s.requestWork("w1", 1);
    BOOST_REQUIRE(s.reportResult("w1", "u0", a[0].replica, vote("x")).validated.size() == 1u);
    // Replaying the decision (a bug or a second writer) is refused and rolled back.
    StateBatch again;
    ReplicaRecord r = s.replicas("u0")[0];
    r.worker = "intruder";
    again.replicas.push_back(r);
    UnitRecord u = *s.unit("u0");
    u.state = UnitState::kFailed;
    again.units.push_back(u);
    BOOST_CHECK_THROW(j.commit(again), std::system_error);
    const auto snap = j.load();
    BOOST_TEST((snap.units[0].state == UnitState::kValid));
    BOOST_TEST(snap.replicas[0].worker == "w1");
}

BOOST_AUTO_TEST_CASE(exclusive_and_errors) {
    TempDir dir;
    const auto job = makeJob(dir, 1, 1, 1);
    auto j = Journal::create(dir / "job", job);
    try {
        Journal::open(dir / "job");
        BOOST_FAIL("second writer allowed");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code().value() == EBUSY);
    }
    auto ro = Journal::open(dir / "job", Journal::Access::kReadOnly);
    BOOST_TEST(ro.load().units.size() == 1u);
    StateBatch batch;
    batch.units.push_back(UnitRecord{});
    BOOST_CHECK_THROW(ro.commit(batch), std::system_error);
    try {
        Journal::open(dir / "nothing");
        BOOST_FAIL("opened a missing journal");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code().value() == ENOENT);
    }
    {
        auto moved = std::move(j); // the lock moves with it
    }
    try {
        Journal::create(dir / "job", job);
        BOOST_FAIL("overwrote a journal");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code().value() == EEXIST);
    }
    dir.write("junk/journal.sqlite", "not a database at all, just text that is long enough");
    BOOST_CHECK_THROW(Journal::open(dir / "junk"), std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()

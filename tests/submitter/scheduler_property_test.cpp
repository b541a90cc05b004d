// Randomised runs of the scheduler over a real journal, with liars, lost
// workers, expiring leases, clean goodbyes and submitter crashes, checking
// the invariants after every step. Seeded: every run is reproducible.
#include "submitter/journal.hpp"
#include "submitter/scheduler.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <random>
#include <set>

using namespace swarm::submitter;
using swarm::test::TempDir;
using swarm::wire::ManualClock;
namespace fs = std::filesystem;

namespace {

ReplicaReport answer(const std::string& unit, bool liar) {
    const std::string text = liar ? "wrong " + unit : "right " + unit;
    return ReplicaReport::success(
        0, {{"stdout", swarm::wire::sha256(swarm::wire::asBytes(text)), text.size()}});
}

void crashImage(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const char* name : {"journal.sqlite", "journal.sqlite-wal"})
        if (fs::exists(from / name))
            fs::copy_file(from / name, to / name);
}

struct World {
    std::uint32_t seed;
    TempDir dir;
    ManualClock clock;
    JobSpec job;
    std::vector<std::string> ids;
    std::unique_ptr<Journal> journal;
    std::unique_ptr<Scheduler> sched;
    std::map<std::string, int> validated; // across every run
    std::map<std::string, UnitState> decided;
    int runs = 0;

    explicit World(std::uint32_t s) : seed(s) {
        job.name = "prop";
        job.image.reference = "img";
        job.policy.replicas = 2 + s % 2;
        job.policy.quorum = 2;
        job.policy.maxErrors = 4;
        job.policy.maxTotalResults = 9;
        job.policy.leaseMs = 10'000;
        for (int i = 0; i < 8; ++i) {
            const std::string id = "u" + std::to_string(i);
            job.units.push_back({id, {}});
            ids.push_back(id);
        }
        const auto first = dir / "run0";
        { Journal::create(first, job); }
        open(first);
    }

    void open(const fs::path& path) {
        sched.reset();
        journal = std::make_unique<Journal>(Journal::open(path));
        sched = std::make_unique<Scheduler>(job.policy, ids, clock, *journal);
        record(sched->restore(journal->load()));
    }

    void crash() {
        const auto next = dir / ("run" + std::to_string(++runs));
        crashImage(dir / ("run" + std::to_string(runs - 1)), next);
        open(next);
    }

    void record(const Effects& e) {
        for (const auto& id : e.validated) {
            ++validated[id];
            BOOST_TEST(!decided.contains(id), "seed " << seed << ": " << id << " decided twice");
            decided[id] = UnitState::kValid;
        }
        for (const auto& id : e.failed) {
            BOOST_TEST(!decided.contains(id), "seed " << seed << ": " << id << " decided twice");
            decided[id] = UnitState::kFailed;
        }
    }

    void checkInvariants() {
        const auto& p = job.policy;
        for (const auto& id : ids) {
            const auto& reps = sched->replicas(id);
            std::size_t issued = 0;
            std::size_t errors = 0;
            // Replicas per worker that could vote (abandoned, lost and
            // given-back ones cast none: a worker may take a unit it gave
            // back again), and lost ones (a worker retakes a unit at most twice).
            std::map<WorkerId, int> voting;
            std::map<WorkerId, int> lost;
            for (const auto& r : reps) {
                issued += countsAsIssued(r.state);
                errors += countsAsError(r.state);
                if (r.state == ReplicaState::kLost)
                    ++lost[r.worker];
                else if (r.state != ReplicaState::kAbandoned && r.state != ReplicaState::kGivenBack)
                    ++voting[r.worker];
            }
            BOOST_TEST(issued <= p.maxTotalResults, "seed " << seed << " unit " << id);
            for (const auto& [w, n] : voting)
                BOOST_TEST(n == 1,
                           "seed " << seed << ": " << w << " held " << id << " " << n << " times");
            for (const auto& [w, n] : lost)
                BOOST_TEST(n <= 3,
                           "seed " << seed << ": " << w << " lost " << id << " " << n << " times");
            const UnitRecord* u = sched->unit(id);
            if (u->state == UnitState::kValid) {
                std::size_t agree = 0;
                std::size_t results = 0;
                for (const auto& r : reps) {
                    if (r.state != ReplicaState::kSucceeded)
                        continue;
                    ++results;
                    agree += r.digest == u->digest;
                }
                // Votes may keep arriving only until the decision: the
                // decision was a strict majority of >= Q at that moment.
                BOOST_TEST(agree >= p.quorum, "seed " << seed << " unit " << id);
                BOOST_TEST(2 * agree > results, "seed " << seed << " unit " << id);
                BOOST_TEST(u->agreed.size() == agree);
            }
            if (u->state != UnitState::kPending)
                BOOST_TEST(!std::any_of(reps.begin(), reps.end(), [](const ReplicaRecord& r) {
                    return r.state == ReplicaState::kInFlight;
                }));
            if (u->state == UnitState::kPending)
                BOOST_TEST(!decided.contains(id), "seed " << seed << " unit " << id);
        }
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(scheduler_property)

BOOST_AUTO_TEST_CASE(random_runs_keep_the_invariants) {
    for (std::uint32_t seed = 1; seed <= 8; ++seed) {
        World w(seed);
        std::mt19937 rng(seed);
        const std::vector<WorkerId> workers{"w0", "w1", "w2", "w3", "w4", "w5"};
        const std::set<WorkerId> liars{"w5"}; // one dishonest worker in six
        std::map<WorkerId, std::vector<Assignment>> held;
        int steps = 0;
        for (; steps < 400 && !w.sched->finished(); ++steps) {
            const WorkerId& worker = workers[rng() % workers.size()];
            switch (rng() % 10) {
            case 0:
            case 1:
            case 2: {
                for (auto& a : w.sched->requestWork(worker, 1 + rng() % 2))
                    held[worker].push_back(a);
                break;
            }
            case 3:
            case 4:
            case 5: {
                auto& list = held[worker];
                if (list.empty())
                    break;
                const auto a = list.front();
                list.erase(list.begin());
                const bool fails = rng() % 8 == 0;
                w.record(w.sched->reportResult(worker, a.unitId, a.replica,
                                               fails ? ReplicaReport::failure("crashed")
                                                     : answer(a.unitId, liars.contains(worker))));
                break;
            }
            case 6:
                w.clock.advance(2'500);
                w.record(w.sched->expireLeases());
                break;
            case 7:
                if (rng() % 3 == 0) {
                    std::vector<std::pair<std::string, std::uint32_t>> back;
                    for (const auto& a : held[worker])
                        back.emplace_back(a.unitId, a.replica);
                    w.record(w.sched->workerBye(worker, back));
                } else {
                    w.record(w.sched->workerDisconnected(worker));
                }
                held[worker].clear();
                break;
            case 8:
                if (rng() % 4 == 0) {
                    w.crash();
                    held.clear(); // the workers' sessions died with the submitter
                }
                break;
            default:
                // A result for something the worker does not hold must be ignored.
                BOOST_TEST(
                    !w.sched->reportResult(worker, "u0", 99, answer("u0", false)).ignored.empty());
                break;
            }
            w.checkInvariants();
        }
        // Liars are a minority: nothing valid may carry the liar's digest.
        for (const auto& id : w.ids) {
            const UnitRecord* u = w.sched->unit(id);
            if (u->state == UnitState::kValid) {
                BOOST_TEST((*u->digest == *answer(id, false).digest), "seed " << seed << " " << id);
            }
        }
        for (const auto& [id, n] : w.validated)
            BOOST_TEST(n == 1, "seed " << seed << ": " << id << " validated " << n << " times");
        // The journal agrees with memory.
        const auto snap = w.journal->load();
        for (const auto& u : snap.units)
            BOOST_TEST((u.state == w.sched->unit(u.id)->state), "seed " << seed << " " << u.id);
        BOOST_TEST_MESSAGE("seed " << seed << ": " << steps << " steps, " << w.sched->counts().valid
                                   << " valid, " << w.sched->counts().failed << " failed, "
                                   << w.runs << " crashes");
    }
}

BOOST_AUTO_TEST_SUITE_END()

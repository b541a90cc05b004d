#include "worker/session_table.hpp"

#include "base/manual_executor.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "worker/worker.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

using namespace swarm;
using namespace swarm::worker;
using namespace std::chrono_literals;

namespace {

/// Records what the table asks of the sessions; a session is ready unless
/// a test says it is busy.
struct FakePort final : SessionPort {
    struct Ran {
        wire::Assign assign;
        std::stop_token stop;
        std::stop_token giveBack;
    };
    std::vector<std::pair<SessionId, dht::ReceivedOffer>> dialed;
    std::map<SessionId, std::vector<wire::RawMessage>> sent;
    std::map<SessionId, std::vector<Ran>> ran;
    std::map<SessionId, std::optional<wire::Bye>> closed;
    std::set<SessionId> busy;
    std::vector<SessionId> forgotten;
    std::vector<SessionId> delivered; // deliverHeld() calls, in order
    std::size_t unpinned = 0;

    void dial(SessionId id, const dht::ReceivedOffer& offer) override {
        dialed.emplace_back(id, offer);
    }
    void send(SessionId id, wire::Bytes payload) override {
        auto msg = wire::decodeMessage(payload);
        BOOST_REQUIRE(msg.has_value());
        sent[id].push_back(std::move(*msg));
    }
    bool ready(SessionId id) const override { return !busy.contains(id); }
    void run(SessionId id, wire::Assign assign, sandbox::Limits, std::vector<wire::Digest>,
             std::stop_token stop, std::stop_token giveBack) override {
        ran[id].push_back({std::move(assign), stop, giveBack});
    }
    void deliverHeld(SessionId id) override { delivered.push_back(id); }
    void unpin(std::vector<wire::Digest> pinned) override { unpinned += pinned.size(); }
    void close(SessionId id, std::optional<wire::Bye> last) override { closed[id] = last; }
    void forget(SessionId id) override { forgotten.push_back(id); }

    /// Slots asked for in `id`'s RequestWork messages since the last call.
    std::uint32_t requested(SessionId id) {
        std::uint32_t n = 0;
        for (const auto& m : sent[id])
            if (m.type == wire::MsgType::kRequestWork)
                n += wire::bodyAs<wire::RequestWork>(m)->slots;
        std::erase_if(sent[id],
                      [](const auto& m) { return m.type == wire::MsgType::kRequestWork; });
        return n;
    }
    template <typename T> std::vector<T> taken(SessionId id) {
        std::vector<T> out;
        for (const auto& m : sent[id])
            if (m.type == T::kType)
                out.push_back(*wire::bodyAs<T>(m));
        std::erase_if(sent[id], [](const auto& m) { return m.type == T::kType; });
        return out;
    }
};

struct Rig {
    explicit Rig(std::uint32_t slots = 4) {
        cfg.slots = slots;
        table = std::make_unique<SessionTable>(cfg, loop, clock, port);
    }
    /// A submitter's offer, dialed and connected; returns its session.
    SessionId connect(const std::string& name = "", const std::string& batch = "",
                      std::optional<wire::PeerId> from = std::nullopt) {
        dht::ReceivedOffer o;
        o.submitter = from ? *from : wire::PeerId(wire::Identity::generate().publicKey());
        o.offer.batchId = batch;
        o.submitterName = name;
        o.issuedAtMs = clock.nowMs();
        o.expiresAtMs = clock.nowMs() + 60'000;
        o.offer.endpoints = {"192.0.2.1:1"};
        const auto before = port.dialed.size();
        table->offered(o);
        BOOST_REQUIRE(port.dialed.size() == before + 1);
        auto id = port.dialed.back().first;
        table->connected(id);
        return id;
    }
    /// Assigns a unit in `id` and reports its inputs fetched: it runs.
    void runUnit(SessionId id, const std::string& unit, std::int64_t timeoutMs = 0) {
        auto a = assign(unit);
        if (timeoutMs != 0)
            a.timeoutMs = timeoutMs;
        auto answer = table->assigned(id, a);
        BOOST_REQUIRE(answer.verdict == AssignVerdict::kFetch);
        table->fetched(id, a, answer.admission, Fetched{});
    }
    // Assigns "late" where the table takes no work: the one result that
    // answers it, a give-back (not a refusal).
    wire::Result assignLate(SessionId id) {
        auto answer = table->assigned(id, assign("late"));
        BOOST_TEST((answer.verdict == AssignVerdict::kRefused));
        auto back = port.taken<wire::Result>(id);
        BOOST_REQUIRE(back.size() == 1u);
        BOOST_TEST(back[0].givenBack);
        BOOST_TEST(!back[0].refused);
        BOOST_TEST(back[0].unitId == "late");
        return back[0];
    }
    static wire::Assign assign(const std::string& unit) {
        wire::Assign a;
        a.unitId = unit;
        a.image = "localhost/tool:1";
        a.command = {"true"};
        return a;
    }

    WorkerConfig cfg;
    base::ManualExecutor loop;
    wire::ManualClock clock;
    FakePort port;
    std::unique_ptr<SessionTable> table;
};

} // namespace

BOOST_AUTO_TEST_SUITE(session_table)

BOOST_AUTO_TEST_CASE(a_connected_session_asks_for_every_free_slot) {
    Rig rig(4);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 4u);
    BOOST_TEST(rig.table->freeSlots() == 0u);
}

BOOST_AUTO_TEST_CASE(two_submitters_share_the_slots_as_units_end) {
    Rig rig(4);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 4u);
    for (int i = 0; i < 4; ++i)
        rig.runUnit(a, "a" + std::to_string(i));
    auto b = rig.connect();
    BOOST_TEST(rig.port.requested(b) == 0u); // nothing free; running units stay
    // The slots A's units free go to B until both hold their share (2 each).
    rig.table->unitEnded(a, "a0/0", true, true);
    BOOST_TEST(rig.port.requested(b) == 1u);
    BOOST_TEST(rig.port.requested(a) == 0u);
    rig.table->unitEnded(a, "a1/0", true, true);
    BOOST_TEST(rig.port.requested(b) == 1u);
    rig.table->unitEnded(a, "a2/0", true, true);
    BOOST_TEST(rig.port.requested(a) == 1u); // B holds its share now
    BOOST_TEST(rig.port.requested(b) == 0u);
}

BOOST_AUTO_TEST_CASE(a_weighted_submitter_gets_its_larger_share) {
    Rig rig(4);
    rig.cfg.shares["big"] = 3;
    auto a = rig.connect("big");
    auto b = rig.connect("small");
    BOOST_TEST(rig.port.requested(a) == 4u); // alone at first
    BOOST_TEST(rig.port.requested(b) == 0u);
    rig.table->noWork(a, 4); // A had nothing: all of it goes to B
    BOOST_TEST(rig.port.requested(b) == 4u);
    rig.table->noWork(b, 3);
    rig.table->workReady(a);
    BOOST_TEST(rig.port.requested(a) == 3u); // the three B handed back
}

BOOST_AUTO_TEST_CASE(no_work_keeps_a_session_quiet_until_work_ready_or_a_recheck) {
    Rig rig(2);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 2u);
    rig.table->noWork(a, 2);
    rig.loop.advance(29s);
    BOOST_TEST(rig.port.requested(a) == 0u);
    rig.loop.advance(1s); // asked again after 30 s anyway
    BOOST_TEST(rig.port.requested(a) == 2u);
    rig.table->noWork(a, 2);
    rig.table->workReady(a); // or at once when the submitter says so
    BOOST_TEST(rig.port.requested(a) == 2u);
}

BOOST_AUTO_TEST_CASE(handing_back_more_than_was_asked_ends_the_session) {
    Rig rig(2);
    auto a = rig.connect();
    rig.table->noWork(a, 3);
    BOOST_TEST(rig.port.closed.contains(a));
    BOOST_TEST(!rig.port.closed[a].has_value()); // no bye for a breach
    BOOST_TEST(rig.port.forgotten == std::vector<SessionId>{a});
    BOOST_TEST(rig.table->freeSlots() == 2u);
}

BOOST_AUTO_TEST_CASE(an_assign_nobody_asked_for_ends_the_session) {
    Rig rig(1);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    auto answer = rig.table->assigned(a, Rig::assign("u2"));
    BOOST_TEST((answer.verdict == AssignVerdict::kEnd));
    BOOST_TEST(rig.port.closed.contains(a));
    // Its running unit ends as usual; then the session is forgotten.
    BOOST_TEST(rig.port.forgotten.empty());
    rig.table->unitEnded(a, "u1/0", false, false);
    BOOST_TEST(rig.port.forgotten == std::vector<SessionId>{a});
}

BOOST_AUTO_TEST_CASE(a_unit_the_volunteer_does_not_allow_is_refused_and_its_slot_asked_again) {
    Rig rig(1);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 1u);
    auto bad = Rig::assign("u1");
    bad.image = "docker.io/evil:1"; // outside allowedImages
    auto answer = rig.table->assigned(a, bad);
    BOOST_TEST((answer.verdict == AssignVerdict::kRefused));
    auto results = rig.port.taken<wire::Result>(a);
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST(results[0].unitId == "u1");
    BOOST_TEST(results[0].error.find("image") != std::string::npos);
    BOOST_TEST(results[0].refused); // the volunteer's rule, not the unit's fault
    BOOST_TEST(rig.port.requested(a) == 1u);
    WorkerStatus st;
    rig.table->collect(st);
    BOOST_TEST(st.failed == 1u);
}

BOOST_AUTO_TEST_CASE(an_assign_the_judge_refused_is_answered_for_its_unit_or_with_an_error) {
    Rig rig(2);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 2u);
    auto v = rig.table->refusedAssign(a, wire::UnitKey{"u1", 0}, "assign.memoryBytes: too big");
    BOOST_TEST((v == AssignVerdict::kRefused));
    auto results = rig.port.taken<wire::Result>(a);
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST(results[0].error == "refused: assign.memoryBytes: too big");
    BOOST_TEST(!results[0].refused); // a malformed assign is the submitter's fault
    v = rig.table->refusedAssign(a, std::nullopt, "assign.unitId: bad");
    BOOST_TEST((v == AssignVerdict::kRefused));
    auto errors = rig.port.taken<wire::ErrorMsg>(a);
    BOOST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].code == wire::kRefusedCode);
    BOOST_TEST(rig.port.requested(a) == 2u); // both slots asked for again
    WorkerStatus st;
    rig.table->collect(st);
    BOOST_TEST(st.refused == 2u);
    BOOST_TEST(st.failed == 2u);
}

BOOST_AUTO_TEST_CASE(inputs_that_cannot_be_fetched_refuse_the_unit) {
    Rig rig(1);
    auto a = rig.connect();
    auto u = Rig::assign("u1");
    auto answer = rig.table->assigned(a, u);
    rig.table->fetched(a, u, answer.admission,
                       Fetched{Fetched::Outcome::kFailed, "inputs could not be fetched: x", {}});
    auto results = rig.port.taken<wire::Result>(a);
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST(results[0].error == "inputs could not be fetched: x");
    BOOST_TEST(!results[0].refused);
    BOOST_TEST(rig.port.ran[a].empty());
}

BOOST_AUTO_TEST_CASE(cancel_stops_only_the_named_unit) {
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    rig.runUnit(a, "u2");
    rig.table->cancelled(a, wire::Cancel{.unitId = "u2", .replica = 0, .reason = "enough"});
    BOOST_REQUIRE(rig.port.ran[a].size() == 2u);
    BOOST_TEST(!rig.port.ran[a][0].stop.stop_requested());
    BOOST_TEST(rig.port.ran[a][1].stop.stop_requested());
}

BOOST_AUTO_TEST_CASE(a_stopping_worker_gives_back_what_runs_and_asks_for_nothing) {
    Rig rig(3);
    auto a = rig.connect();
    auto b = rig.connect();
    rig.runUnit(a, "u1");
    rig.runUnit(a, "u2");
    rig.port.requested(a);
    rig.port.requested(b);
    rig.table->stop();
    // Running units are given back one by one (with their checkpoints);
    // the bye waits for them.
    BOOST_TEST(!rig.port.closed.contains(a));
    for (const auto& ran : rig.port.ran[a]) {
        BOOST_TEST(ran.giveBack.stop_requested());
        BOOST_TEST(!ran.stop.stop_requested());
    }
    BOOST_REQUIRE(rig.port.closed[b].has_value());
    BOOST_TEST(rig.port.closed[b]->givenBack.empty());
    BOOST_TEST(rig.port.forgotten == std::vector<SessionId>{b}); // nothing runs there
    rig.table->unitEnded(a, "u1/0", true, false);
    BOOST_TEST(!rig.port.closed.contains(a));
    rig.table->unitEnded(a, "u2/0", true, false);
    BOOST_REQUIRE(rig.port.closed[a].has_value());
    BOOST_TEST(rig.port.closed[a]->givenBack.empty());
    BOOST_TEST(rig.port.requested(a) == 0u);
    BOOST_TEST(rig.table->empty());
    rig.table->offered(rig.port.dialed.front().second); // offers are dropped now
    BOOST_TEST(rig.port.dialed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_unit_whose_inputs_still_come_at_stop_is_given_back_and_unpinned) {
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    auto u2 = Rig::assign("u2");
    auto answer = rig.table->assigned(a, u2);
    BOOST_REQUIRE((answer.verdict == AssignVerdict::kFetch));
    rig.table->stop();
    BOOST_TEST(rig.port.ran[a][0].giveBack.stop_requested());
    rig.table->unitEnded(a, "u1/0", true, false);
    BOOST_REQUIRE(rig.port.closed[a].has_value());
    BOOST_TEST(rig.port.closed[a]->givenBack == (std::vector<std::string>{"u2/0"}));
    Fetched got;
    got.pinned = {wire::Digest{}};
    rig.table->fetched(a, u2, answer.admission, got); // arrives after the stop
    BOOST_TEST(rig.port.ran[a].size() == 1u);         // not started
    BOOST_TEST(rig.port.unpinned == 1u);
    rig.table->unitEnded(a, "u1/0", false, false);
    BOOST_TEST(rig.table->empty());
}

BOOST_AUTO_TEST_CASE(the_same_unit_assigned_twice_ends_the_session) {
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    auto answer = rig.table->assigned(a, Rig::assign("u1"));
    BOOST_TEST((answer.verdict == AssignVerdict::kEnd));
    BOOST_TEST(rig.port.closed.contains(a));
    rig.table->unitEnded(a, "u1/0", false, false);
    BOOST_TEST(rig.table->empty());
    BOOST_TEST(rig.table->freeSlots() == 2u); // nothing leaked
}

BOOST_AUTO_TEST_CASE(a_session_fetching_inputs_does_not_ask_for_more_meanwhile) {
    Rig rig(2);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 2u);
    auto u = Rig::assign("u1");
    auto answer = rig.table->assigned(a, u);
    rig.table->noWork(a, 1); // its other slot: back, then wanted again
    rig.loop.advance(std::chrono::seconds(30));
    BOOST_TEST(rig.port.requested(a) == 0u); // not while its reader fetches
    rig.table->fetched(a, u, answer.admission, Fetched{});
    BOOST_TEST(rig.port.requested(a) == 1u);
}

BOOST_AUTO_TEST_CASE(a_session_that_cannot_ask_now_lends_a_slot_to_another) {
    Rig rig(2);
    auto a = rig.connect();
    auto b = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 2u);
    rig.table->noWork(a, 2); // B gets both
    BOOST_TEST(rig.port.requested(b) == 2u);
    rig.runUnit(b, "b1");
    rig.runUnit(b, "b2");
    rig.table->workReady(a);
    rig.port.busy.insert(a); // A is fetching or its submitter not reading
    rig.table->unitEnded(b, "b1/0", true, true);
    BOOST_TEST(rig.port.requested(a) == 0u);
    BOOST_TEST(rig.port.requested(b) == 1u); // borrowed rather than idle
    rig.port.busy.clear();
    rig.table->unitEnded(b, "b2/0", true, true);
    BOOST_TEST(rig.port.requested(a) == 1u); // A's again as soon as it can ask
}

BOOST_AUTO_TEST_CASE(a_second_offer_from_a_connected_submitter_is_not_dialed) {
    Rig rig(2);
    auto a = rig.connect();
    auto offer = rig.port.dialed.front().second;
    offer.issuedAtMs += 1;
    rig.table->offered(offer);
    BOOST_TEST(rig.port.dialed.size() == 1u);
    // Once the session is over, a fresh offer is dialed again.
    rig.table->ended(a);
    offer.issuedAtMs += 1;
    rig.table->offered(offer);
    BOOST_TEST(rig.port.dialed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(status_lists_connected_submitters_and_running_units) {
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    rig.clock.advance(1500);
    WorkerStatus st;
    rig.table->collect(st);
    BOOST_TEST(st.submitters.size() == 1u);
    BOOST_REQUIRE(st.running.size() == 1u);
    BOOST_TEST(st.running[0].unit == "u1/0");
    BOOST_TEST(st.running[0].elapsedMs == 1500);
    rig.table->unitEnded(a, "u1/0", true, true);
    st = {};
    rig.table->collect(st);
    BOOST_TEST(st.done == 1u);
}

BOOST_AUTO_TEST_CASE(a_closing_window_gives_back_what_runs_and_asks_for_nothing_until_it_opens) {
    Rig rig(2);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 2u);
    rig.runUnit(a, "u1");
    auto u2 = Rig::assign("u2");
    auto answer = rig.table->assigned(a, u2); // inputs still coming
    BOOST_REQUIRE((answer.verdict == AssignVerdict::kFetch));
    rig.table->setOpen(false);
    BOOST_TEST(rig.port.ran[a][0].giveBack.stop_requested());
    BOOST_TEST(!rig.port.ran[a][0].stop.stop_requested());
    BOOST_TEST(rig.table->freeSlots() == 0u);
    // The unit whose inputs came after the close is not started: a bare
    // give-back answers it.
    rig.table->fetched(a, u2, answer.admission, Fetched{});
    BOOST_TEST(rig.port.ran[a].size() == 1u);
    auto back = rig.port.taken<wire::Result>(a);
    BOOST_REQUIRE(back.size() == 1u);
    BOOST_TEST(back[0].givenBack);
    BOOST_TEST(back[0].unitId == "u2");
    BOOST_TEST(!rig.table->keepResult(a, "u1/0")); // a give-back is never held
    rig.table->unitEnded(a, "u1/0", true, false);
    rig.table->tick();
    BOOST_TEST(rig.port.requested(a) == 0u);
    BOOST_TEST(!rig.port.closed.contains(a)); // the session stays
    rig.table->setOpen(true);
    BOOST_TEST(rig.port.requested(a) == 2u);
}

BOOST_AUTO_TEST_CASE(an_assign_that_arrives_after_the_window_closed_is_given_back) {
    Rig rig(1);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 1u);
    rig.table->setOpen(false);
    BOOST_TEST(rig.assignLate(a).error == "outside the worker's schedule");
    BOOST_TEST(rig.port.ran[a].empty());
}

BOOST_AUTO_TEST_CASE(an_assign_that_arrives_while_the_worker_stops_is_given_back) {
    // Asked for before the stop; the bye was built without it.
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "u1");
    rig.table->stop();
    BOOST_TEST(rig.assignLate(a).error == "the worker is stopping");
    rig.table->unitEnded(a, "u1/0", true, false);
    BOOST_REQUIRE(rig.port.closed[a].has_value());
}

BOOST_AUTO_TEST_CASE(a_unit_frozen_longer_than_its_timeout_is_given_back) {
    Rig rig(2);
    auto a = rig.connect();
    rig.runUnit(a, "short", 10'000);
    rig.runUnit(a, "long", 60'000);
    BOOST_REQUIRE(rig.port.ran[a].size() == 2u);
    const auto& shortRun = rig.port.ran[a][0];
    const auto& longRun = rig.port.ran[a][1];
    // Frozen 6 s, thawed, frozen again: the time adds up.
    rig.table->setSuspended(true);
    rig.clock.advance(6'000);
    rig.table->tick();
    rig.table->setSuspended(false);
    rig.clock.advance(30'000); // running: not counted
    rig.table->tick();
    BOOST_TEST(!shortRun.giveBack.stop_requested());
    rig.table->setSuspended(true);
    rig.clock.advance(4'000);
    rig.table->tick();
    BOOST_TEST(!shortRun.giveBack.stop_requested()); // 10 s: not longer than its timeout
    rig.clock.advance(1'000);
    rig.table->tick();
    BOOST_TEST(shortRun.giveBack.stop_requested());
    BOOST_TEST(!shortRun.stop.stop_requested());
    BOOST_TEST(!longRun.giveBack.stop_requested());
    rig.clock.advance(50'000);
    rig.table->tick();
    BOOST_TEST(longRun.giveBack.stop_requested());
}

namespace {
const std::string kBatch = "0123456789abcdef0123456789abcdef";
const std::string kOtherBatch = "ffffffffffffffffffffffffffffffff";
} // namespace

BOOST_AUTO_TEST_CASE(a_result_whose_session_is_gone_is_kept_unless_cancelled_or_given_back) {
    Rig rig(4);
    auto a = rig.connect("", kBatch);
    rig.runUnit(a, "u1");
    rig.runUnit(a, "u2");
    rig.runUnit(a, "u3");
    rig.table->cancelled(a, wire::Cancel{.unitId = "u2", .replica = 0, .reason = "enough"});
    rig.table->ended(a); // the submitter was killed
    BOOST_TEST(rig.table->keepResult(a, "u1/0"));
    BOOST_TEST(!rig.table->keepResult(a, "u2/0")); // cancelled: not wanted
    BOOST_TEST(!rig.table->keepResult(a, "u9/0")); // not running here
    // A window closing gives back only what runs for a connected session:
    // these run on, their results held.
    rig.table->setOpen(false);
    BOOST_TEST(rig.table->keepResult(a, "u1/0"));
    BOOST_REQUIRE(rig.port.ran[a].size() == 3u);
    BOOST_TEST(!rig.port.ran[a][0].giveBack.stop_requested());
    rig.table->stop();
    BOOST_TEST(!rig.table->keepResult(a, "u3/0")); // given back by a stopping worker

    Rig old(1);
    auto b = old.connect(); // an offer without a batch: nowhere to deliver it
    old.runUnit(b, "u1");
    old.table->ended(b);
    BOOST_TEST(!old.table->keepResult(b, "u1/0"));
}

BOOST_AUTO_TEST_CASE(held_results_go_to_a_session_of_the_same_submitter_and_batch) {
    Rig rig(4);
    auto a = rig.connect("", kBatch);
    const auto sub = rig.port.dialed.back().second.submitter;
    BOOST_TEST(rig.port.delivered == std::vector<SessionId>{a}); // whatever was held before
    rig.runUnit(a, "u1");
    rig.table->ended(a);
    // Its submitter resumed the same job: the new offer is dialed although
    // the old session still runs u1, and takes what is held.
    auto b = rig.connect("", kBatch, sub);
    BOOST_TEST(b != a);
    BOOST_TEST(rig.port.delivered == (std::vector<SessionId>{a, b}));
    rig.table->resultHeld(sub, kBatch); // u1 ended while b is connected: at once
    BOOST_TEST(rig.port.delivered == (std::vector<SessionId>{a, b, b}));
    rig.table->resultHeld(sub, kOtherBatch); // another job's: not to b
    rig.table->resultHeld(wire::PeerId(wire::Identity::generate().publicKey()), kBatch);
    BOOST_TEST(rig.port.delivered.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_resumed_submitter_can_cancel_what_its_killed_run_started) {
    Rig rig(2);
    auto a = rig.connect("", kBatch);
    const auto sub = rig.port.dialed.back().second.submitter;
    rig.runUnit(a, "u1");
    rig.table->ended(a);
    auto b = rig.connect("", kBatch, sub);
    rig.table->cancelled(b, wire::Cancel{.unitId = "u1", .replica = 0, .reason = "decided"});
    BOOST_REQUIRE(rig.port.ran[a].size() == 1u);
    BOOST_TEST(rig.port.ran[a][0].stop.stop_requested());
    BOOST_TEST(!rig.table->keepResult(a, "u1/0")); // cancelled: its result is not kept

    // Another submitter's session cannot.
    Rig two(2);
    auto x = two.connect("", kBatch);
    two.runUnit(x, "u1");
    auto y = two.connect("", kBatch);
    two.table->cancelled(y, wire::Cancel{.unitId = "u1", .replica = 0, .reason = "mine"});
    BOOST_TEST(!two.port.ran[x][0].stop.stop_requested());
}

BOOST_AUTO_TEST_CASE(another_batch_waits_for_the_ended_session_as_before) {
    Rig rig(2);
    auto a = rig.connect("", kBatch);
    const auto sub = rig.port.dialed.back().second.submitter;
    rig.runUnit(a, "u1");
    rig.table->ended(a);
    dht::ReceivedOffer o;
    o.submitter = sub;
    o.offer.batchId = kOtherBatch;
    o.issuedAtMs = rig.clock.nowMs();
    o.expiresAtMs = rig.clock.nowMs() + 60'000;
    rig.table->offered(o);
    BOOST_TEST(rig.port.dialed.size() == 1u); // waits until u1 ends
    rig.table->unitEnded(a, "u1/0", false, true);
    BOOST_TEST(rig.port.dialed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(progress_goes_every_15_s_to_a_session_of_the_units_submitter_and_batch) {
    Rig rig(4);
    auto a = rig.connect("", kBatch);
    const auto sub = rig.port.dialed.back().second.submitter;
    auto other = rig.connect("", kBatch); // another submitter, same batch text
    rig.runUnit(a, "u1");
    rig.table->tick(); // the first tick reports at once
    auto p = rig.port.taken<wire::Progress>(a);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].unitId == "u1");
    BOOST_TEST(p[0].state == "running");
    rig.clock.advance(10'000);
    rig.table->tick();
    BOOST_TEST(rig.port.taken<wire::Progress>(a).empty()); // not yet
    rig.clock.advance(5'000);
    rig.table->tick();
    p = rig.port.taken<wire::Progress>(a);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].elapsedMs == 15'000);

    // The submitter goes away: nobody to tell until it comes back.
    rig.table->ended(a);
    rig.clock.advance(15'000);
    rig.table->tick();
    BOOST_TEST(rig.port.taken<wire::Progress>(a).empty());
    BOOST_TEST(rig.port.taken<wire::Progress>(other).empty()); // never to another submitter
    // It resumes: the new session hears of u1 at once, then every 15 s.
    rig.clock.advance(1'000);
    auto b = rig.connect("", kBatch, sub);
    p = rig.port.taken<wire::Progress>(b);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].unitId == "u1");
    BOOST_TEST(p[0].elapsedMs == 31'000);
    rig.clock.advance(15'000);
    rig.table->tick();
    BOOST_TEST(rig.port.taken<wire::Progress>(b).size() == 1u);
    BOOST_TEST(rig.port.taken<wire::Progress>(other).empty());
    rig.table->unitEnded(a, "u1/0", false, true);
    rig.clock.advance(15'000);
    rig.table->tick();
    BOOST_TEST(rig.port.taken<wire::Progress>(b).empty()); // nothing runs any more
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(session_table_suspended)

BOOST_AUTO_TEST_CASE(a_suspended_worker_keeps_its_units_says_so_and_takes_no_work) {
    Rig rig(2);
    auto a = rig.connect("", "0123456789abcdef0123456789abcdef");
    BOOST_TEST(rig.port.requested(a) == 2u);
    rig.runUnit(a, "u1");
    auto u2 = Rig::assign("u2");
    auto fetching = rig.table->assigned(a, u2);
    BOOST_REQUIRE((fetching.verdict == AssignVerdict::kFetch));
    rig.port.taken<wire::Progress>(a);

    rig.table->setSuspended(true);
    // The running unit stays (frozen by the worker, not given back) and its
    // submitter hears "suspended" at once.
    BOOST_TEST(!rig.port.ran[a][0].giveBack.stop_requested());
    BOOST_TEST(!rig.port.ran[a][0].stop.stop_requested());
    auto p = rig.port.taken<wire::Progress>(a);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].state == "suspended");
    BOOST_TEST(rig.table->freeSlots() == 0u);
    // A unit whose inputs arrive now is given back unstarted, naming why.
    rig.table->fetched(a, u2, fetching.admission, Fetched{});
    BOOST_TEST(rig.port.ran[a].size() == 1u);
    auto back = rig.port.taken<wire::Result>(a);
    BOOST_REQUIRE(back.size() == 1u);
    BOOST_TEST(back[0].givenBack);
    BOOST_TEST(back[0].error == "the worker is suspended");
    rig.table->tick();
    BOOST_TEST(rig.port.requested(a) == 0u);
    // Every 15 s the lease is kept alive with "suspended".
    rig.clock.advance(15'000);
    rig.table->tick();
    p = rig.port.taken<wire::Progress>(a);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].state == "suspended");

    rig.table->setSuspended(false);
    p = rig.port.taken<wire::Progress>(a);
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].state == "running");
    BOOST_TEST(rig.port.requested(a) == 1u); // the slot u2 left
}

BOOST_AUTO_TEST_CASE(an_assign_that_arrives_while_suspended_is_given_back) {
    Rig rig(1);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 1u);
    rig.table->setSuspended(true);
    BOOST_TEST(rig.assignLate(a).error == "the worker is suspended");
}

BOOST_AUTO_TEST_CASE(a_window_closing_while_suspended_still_gives_back_what_runs) {
    Rig rig(1);
    auto a = rig.connect();
    BOOST_TEST(rig.port.requested(a) == 1u);
    rig.runUnit(a, "u1");
    rig.table->setSuspended(true);
    rig.table->setOpen(false);
    BOOST_TEST(rig.port.ran[a][0].giveBack.stop_requested());
    rig.table->unitEnded(a, "u1/0", true, false);
    rig.table->setSuspended(false);
    BOOST_TEST(rig.port.requested(a) == 0u); // still outside the window
    rig.table->setOpen(true);
    BOOST_TEST(rig.port.requested(a) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

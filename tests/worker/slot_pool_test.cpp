#include "worker/slot_pool.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <random>
#include <vector>

using namespace swarm::worker;

BOOST_AUTO_TEST_SUITE(slot_pool)

BOOST_AUTO_TEST_CASE(a_session_alone_gets_every_slot) {
    SlotPool pool(4);
    auto a = pool.join();
    BOOST_TEST(pool.reserve(a, 10) == 4u);
    BOOST_TEST(pool.free() == 0u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 10) == 1u);
}

BOOST_AUTO_TEST_CASE(a_second_submitter_gets_the_slots_the_first_frees) {
    // A had the worker to itself; B arrives. Nothing running is taken from
    // A, but every slot A frees goes to B until both hold their share.
    SlotPool pool(4);
    auto a = pool.join();
    auto b = pool.join();
    BOOST_TEST(pool.reserve(a, 4) == 4u);
    BOOST_TEST(pool.reserve(b, 4) == 0u); // B now wants work
    BOOST_TEST(pool.share(a) == 2u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 4) == 0u); // A is above its share
    BOOST_TEST(pool.reserve(b, 4) == 1u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 4) == 0u); // A is at its share
    BOOST_TEST(pool.reserve(b, 4) == 1u);
    BOOST_TEST(pool.held(a) == 2u);
    BOOST_TEST(pool.held(b) == 2u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(b, 4) == 0u); // B is at its share
    BOOST_TEST(pool.reserve(a, 4) == 1u);
}

BOOST_AUTO_TEST_CASE(a_submitter_without_work_does_not_keep_a_share) {
    // A's job is in its tail (its units wait for quorum elsewhere): its
    // submitter hands the slots back, and B may use all of them.
    SlotPool pool(2);
    auto a = pool.join();
    auto b = pool.join();
    BOOST_TEST(pool.reserve(a, 2) == 2u);
    BOOST_TEST(pool.reserve(b, 2) == 0u);
    pool.decline(a, 2);
    BOOST_TEST(pool.share(b) == 2u);
    BOOST_TEST(pool.reserve(b, 2) == 2u);
    // A asks again later: it wants work once more, and gets the next slot
    // that frees, as B is then above its share.
    BOOST_TEST(pool.reserve(a, 2) == 0u);
    pool.release(b, 1);
    BOOST_TEST(pool.reserve(b, 2) == 0u);
    BOOST_TEST(pool.reserve(a, 2) == 1u);
}

BOOST_AUTO_TEST_CASE(weights_divide_the_slots) {
    // The volunteer gives "a" three times "b"'s share: of 4 slots, 3 and 1
    // while both want work; "b" alone may still use them all.
    SlotPool pool(4);
    auto a = pool.join(300);
    auto b = pool.join(100);
    BOOST_TEST(pool.reserve(b, 4) == 4u);
    BOOST_TEST(pool.reserve(a, 4) == 0u);
    BOOST_TEST(pool.share(a) == 3u);
    BOOST_TEST(pool.share(b) == 1u);
    for (int i = 0; i < 3; ++i) {
        pool.release(b, 1);
        BOOST_TEST(pool.reserve(b, 4) == 0u);
        BOOST_TEST(pool.reserve(a, 4) == 1u);
    }
    BOOST_TEST(pool.held(a) == 3u);
    BOOST_TEST(pool.held(b) == 1u);
    pool.decline(a, 3);
    BOOST_TEST(pool.share(b) == 4u);
    BOOST_TEST(pool.reserve(b, 4) == 3u);
}

BOOST_AUTO_TEST_CASE(a_heavy_session_cannot_keep_every_slot) {
    // 2 slots, weights 3 and 1: shares rounded up are 2 and 1. A session
    // that frees a slot and asks again at once must not win it over one
    // that holds nothing.
    SlotPool pool(2);
    auto a = pool.join(3);
    auto b = pool.join(1);
    BOOST_TEST(pool.reserve(a, 2) == 2u);
    BOOST_TEST(pool.reserve(b, 2) == 0u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 2) == 0u); // b holds nothing: b first
    BOOST_TEST(pool.reserve(b, 2) == 1u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(b, 2) == 0u); // b is at its share
    BOOST_TEST(pool.reserve(a, 2) == 1u);
}

BOOST_AUTO_TEST_CASE(a_session_may_borrow_above_its_share) {
    // B is below its share but cannot ask now (its thread is busy): A may
    // take the free slot, and B gets the next one A frees.
    SlotPool pool(2);
    auto a = pool.join();
    auto b = pool.join();
    BOOST_TEST(pool.reserve(a, 2) == 2u);
    BOOST_TEST(pool.reserve(b, 2) == 0u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 2) == 0u);
    BOOST_TEST(pool.reserve(a, 2, /*borrow=*/true) == 1u);
    BOOST_TEST(pool.held(a) == 2u);
    pool.release(a, 1);
    BOOST_TEST(pool.reserve(a, 2) == 0u);
    BOOST_TEST(pool.reserve(b, 2) == 1u);
}

BOOST_AUTO_TEST_CASE(leaving_frees_what_was_held_and_closing_stops_reservations) {
    SlotPool pool(3);
    auto a = pool.join();
    auto b = pool.join();
    BOOST_TEST(pool.reserve(a, 3) == 3u);
    BOOST_TEST(pool.reserve(b, 3) == 0u);
    pool.leave(a);
    BOOST_TEST(pool.free() == 3u);
    pool.release(a, 1); // a unit ending after its session: no double free
    BOOST_TEST(pool.free() == 3u);
    BOOST_TEST(pool.reserve(b, 3) == 3u);
    pool.release(b, 3);
    pool.close();
    BOOST_TEST(pool.reserve(b, 3) == 0u);
    BOOST_TEST(pool.free() == 3u);
}

BOOST_AUTO_TEST_CASE(no_slot_idles_while_a_session_wants_work) {
    // Random reservations, releases and declines by three sessions of
    // different weights on five slots: the slots are always all accounted
    // for, nobody reserves above its share, and a session below its share
    // is refused a free slot only for one that holds less for its weight.
    std::mt19937 rng(7);
    SlotPool pool(5);
    const std::vector<std::uint64_t> ws{1, 2, 5};
    std::vector<SlotPool::Holder> hs{pool.join(1), pool.join(2), pool.join(5)};
    auto someoneBehind = [&](std::size_t i) {
        for (std::size_t o = 0; o < hs.size(); ++o)
            if (o != i && pool.wants(hs[o]) && pool.held(hs[o]) < pool.share(hs[o]) &&
                pool.held(hs[o]) * ws[i] < pool.held(hs[i]) * ws[o])
                return true;
        return false;
    };
    for (int step = 0; step < 5000; ++step) {
        const std::size_t i = rng() % 3;
        const auto h = hs[i];
        switch (rng() % 3) {
        case 0: {
            const auto before = pool.held(h);
            const std::uint32_t want = 1 + rng() % 5;
            const auto got = pool.reserve(h, want);
            BOOST_TEST_REQUIRE((got == want || pool.free() == 0 || pool.held(h) >= pool.share(h) ||
                                someoneBehind(i)));
            // Whoever it was refused for gets the slot when it asks: the
            // session below its share that holds least for its weight.
            if (got < want && pool.free() > 0) {
                std::optional<std::size_t> first;
                for (std::size_t o = 0; o < hs.size(); ++o)
                    if (pool.wants(hs[o]) && pool.held(hs[o]) < pool.share(hs[o]) &&
                        (!first || pool.held(hs[o]) * ws[*first] < pool.held(hs[*first]) * ws[o]))
                        first = o;
                if (first) {
                    BOOST_TEST_REQUIRE(pool.reserve(hs[*first], 1) == 1u);
                    pool.release(hs[*first], 1);
                }
            }
            if (got > 0)
                BOOST_TEST_REQUIRE(pool.held(h) <= pool.share(h));
            BOOST_TEST_REQUIRE(pool.held(h) == before + got);
            break;
        }
        case 1:
            pool.release(h, rng() % (pool.held(h) + 1));
            break;
        case 2:
            pool.decline(h, rng() % (pool.held(h) + 1));
            break;
        }
        std::uint32_t held = 0;
        for (auto x : hs)
            held += pool.held(x);
        BOOST_TEST_REQUIRE(held + pool.free() == 5u);
    }
}

BOOST_AUTO_TEST_SUITE_END()

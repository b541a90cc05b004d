#include "worker/unit_threads.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace swarm::worker;

BOOST_AUTO_TEST_SUITE(unit_threads)

BOOST_AUTO_TEST_CASE(finished_threads_are_joined_as_new_ones_start) {
    // A long session: many units, one at a time. Without reaping, every
    // finished unit's thread would be held until the session ends.
    UnitThreads threads;
    std::atomic<int> done{0};
    for (int i = 0; i < 200; ++i) {
        threads.start([&] { ++done; });
        while (done.load() != i + 1)
            std::this_thread::yield();
        // This one and the few whose end was not yet recorded when the last
        // ones started; never one per unit run so far.
        BOOST_TEST_REQUIRE(threads.held() <= 8u);
    }
    threads.joinAll();
    BOOST_TEST(threads.held() == 0u);
    BOOST_TEST(done.load() == 200);
}

BOOST_AUTO_TEST_CASE(running_threads_are_kept_and_joined_at_the_end) {
    std::atomic<bool> release{false};
    std::atomic<int> done{0};
    {
        UnitThreads threads;
        for (int i = 0; i < 4; ++i)
            threads.start([&] {
                while (!release.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                ++done;
            });
        BOOST_TEST(threads.held() == 4u);
        release = true;
    } // the destructor waits for all four
    BOOST_TEST(done.load() == 4);
}

BOOST_AUTO_TEST_SUITE_END()

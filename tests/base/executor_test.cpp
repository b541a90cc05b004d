#include "base/event_loop.hpp"
#include "base/manual_executor.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <vector>

using namespace swarm::base;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(executor)

BOOST_AUTO_TEST_CASE(a_manual_executor_runs_tasks_only_when_told_and_in_time_order) {
    ManualExecutor ex;
    std::vector<int> ran;
    ex.postAfter(100ms, [&] { ran.push_back(3); });
    ex.post([&] { ran.push_back(1); });
    ex.post([&] {
        ran.push_back(2);
        ex.postAfter(50ms, [&] { ran.push_back(4); }); // due at 50 ms, before the first
    });
    BOOST_TEST(ran.empty());
    BOOST_TEST(ex.runReady() == 2u);
    BOOST_TEST(ran == (std::vector<int>{1, 2}));
    const auto start = ex.now();
    BOOST_TEST(ex.advance(49ms) == 0u);
    BOOST_TEST(ex.advance(1ms) == 1u); // the one posted at 0 for 50 ms
    BOOST_TEST(ex.advance(50ms) == 1u);
    BOOST_TEST(ran == (std::vector<int>{1, 2, 4, 3}));
    BOOST_TEST((ex.now() - start == 100ms));
    BOOST_TEST(ex.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(an_event_loop_runs_posted_tasks_in_order_and_survives_a_throwing_one) {
    std::vector<std::string> errors;
    EventLoop loop([&](std::string_view what) { errors.emplace_back(what); });
    std::vector<int> ran;
    loop.post([&] { ran.push_back(1); });
    loop.post([] { throw std::runtime_error("boom"); });
    loop.post([&] { ran.push_back(2); });
    BOOST_TEST(loop.runSync([] {}));
    BOOST_TEST(ran == (std::vector<int>{1, 2}));
    BOOST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].find("boom") != std::string::npos);
    loop.stop();
    BOOST_TEST(!loop.runSync([] {})); // a stopped loop runs nothing
}

BOOST_AUTO_TEST_SUITE_END()

#include "submitter/log_follows.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using namespace swarm::wire;
using namespace std::chrono_literals;

namespace {
LogChunk chunk(std::string unit, std::uint64_t offset, std::string data, bool end = false) {
    return LogChunk{.unitId = std::move(unit),
                    .replica = 0,
                    .stream = "stdout",
                    .offset = offset,
                    .data = Bytes(data.begin(), data.end()),
                    .end = end};
}
} // namespace

BOOST_AUTO_TEST_SUITE(log_follows)

BOOST_AUTO_TEST_CASE(only_a_worker_that_can_follow_is_asked_and_on_then_off_is_owed) {
    LogFollows f;
    f.workerConnected("old", false);
    f.workerConnected("new", true);
    BOOST_TEST(!f.follow("old", "u", 0));
    BOOST_TEST(f.owed("old").empty());
    auto follower = f.follow("new", "u", 0);
    BOOST_REQUIRE(follower);
    auto owed = f.owed("new");
    BOOST_REQUIRE(owed.size() == 1u);
    BOOST_TEST((owed[0].unitId == "u" && owed[0].on));
    f.stop(follower);
    owed = f.owed("new");
    BOOST_REQUIRE(owed.size() == 1u);
    BOOST_TEST(!owed[0].on);
}

BOOST_AUTO_TEST_CASE(chunks_nobody_follows_or_from_another_worker_are_dropped) {
    LogFollows f;
    f.workerConnected("w1", true);
    f.workerConnected("w2", true);
    auto follower = f.follow("w1", "u", 0);
    BOOST_TEST(!f.deliver("w1", chunk("other", 0, "x")));
    BOOST_TEST(!f.deliver("w2", chunk("u", 0, "x"))); // w2 does not hold it
    BOOST_TEST(follower->wait(0ms).empty());
    BOOST_TEST(f.deliver("w1", chunk("u", 0, "line 1\n")));
    auto got = follower->wait(0ms);
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].data == "line 1\n");
}

BOOST_AUTO_TEST_CASE(offsets_only_move_forward_and_gaps_are_counted) {
    LogFollows f;
    f.workerConnected("w", true);
    auto follower = f.follow("w", "u", 0);
    f.deliver("w", chunk("u", 0, "abcd"));
    f.deliver("w", chunk("u", 0, "abcd")); // a repeat: dropped
    f.deliver("w", chunk("u", 2, "cdef")); // overlaps: only "ef" is new
    f.deliver("w", chunk("u", 10, "xyz")); // 4 bytes missed
    f.deliver("w", chunk("u", 1, "bc"));   // backwards: dropped
    auto got = follower->wait(0ms);
    BOOST_REQUIRE(got.size() == 3u);
    BOOST_TEST(got[0].data == "abcd");
    BOOST_TEST((got[1].data == "ef" && got[1].offset == 4u && got[1].skipped == 0u));
    BOOST_TEST((got[2].data == "xyz" && got[2].skipped == 4u));
}

BOOST_AUTO_TEST_CASE(the_end_or_the_worker_leaving_ends_the_follow) {
    LogFollows f;
    f.workerConnected("w", true);
    auto a = f.follow("w", "u", 0);
    BOOST_TEST(f.deliver("w", chunk("u", 0, "", true)));
    auto got = a->wait(0ms);
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].end);
    BOOST_TEST(!f.deliver("w", chunk("u", 0, "late"))); // after the end: nobody follows
    auto b = f.follow("w", "v", 0);
    f.workerLeft("w");
    got = b->wait(0ms);
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].end);
    BOOST_TEST(!f.follow("w", "v", 0)); // gone: cannot follow
}

BOOST_AUTO_TEST_CASE(a_reader_too_slow_loses_bytes_not_memory) {
    LogFollows f;
    f.workerConnected("w", true);
    auto follower = f.follow("w", "u", 0);
    const std::string piece(64 * 1024, 'x');
    std::uint64_t offset = 0;
    for (int i = 0; i < 40; ++i, offset += piece.size())
        f.deliver("w", chunk("u", offset, piece));
    auto got = follower->wait(0ms);
    std::size_t bytes = 0;
    for (const auto& e : got)
        bytes += e.data.size();
    BOOST_TEST(bytes <= LogFollows::Follower::kQueueBytes);
    f.deliver("w", chunk("u", offset, "last"));
    got = follower->wait(0ms);
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0].skipped == offset - bytes);
}

BOOST_AUTO_TEST_SUITE_END()

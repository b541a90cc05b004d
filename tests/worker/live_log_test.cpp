#include "worker/live_log.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace swarm::worker;
using Kind = LiveLog::Piece::Kind;
using Stream = LiveLog::Stream;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(live_log)

BOOST_AUTO_TEST_CASE(a_follower_gets_what_was_written_before_and_after_then_the_end) {
    LiveLog log;
    log.write(Stream::kStdout, "line 1\n");
    BOOST_TEST(log.follow()); // no pump yet: the caller starts one
    auto p = log.next(0ms);
    BOOST_TEST((p.kind == Kind::kData));
    BOOST_TEST(p.data == "line 1\n");
    BOOST_TEST(p.offset == 0u);
    BOOST_TEST((log.next(0ms).kind == Kind::kNothing));
    log.write(Stream::kStderr, "oops\n");
    log.write(Stream::kStdout, "line 2\n");
    p = log.next(0ms);
    BOOST_TEST((p.stream == Stream::kStdout && p.offset == 7u && p.data == "line 2\n"));
    p = log.next(0ms);
    BOOST_TEST((p.stream == Stream::kStderr && p.offset == 0u && p.data == "oops\n"));
    log.finish();
    p = log.next(0ms);
    BOOST_TEST(p.end);
    BOOST_TEST(log.drained(0ms));
}

BOOST_AUTO_TEST_CASE(memory_is_bounded_and_what_was_dropped_shows_as_a_gap) {
    LiveLog log;
    const std::string big(LiveLog::kWindow, 'x');
    log.write(Stream::kStdout, "head");
    log.write(Stream::kStdout, big); // nobody follows: only the newest window stays
    log.write(Stream::kStdout, "tail");
    log.follow();
    std::uint64_t got = 0, first = ~0ull;
    std::string last;
    for (auto p = log.next(0ms); p.kind == Kind::kData; p = log.next(0ms)) {
        first = std::min(first, p.offset);
        BOOST_TEST(p.data.size() <= LiveLog::kPiece);
        got += p.data.size();
        last = p.data;
    }
    BOOST_TEST(got == LiveLog::kWindow);
    BOOST_TEST(first == 8u); // "head" and 4 bytes of the x's were dropped
    BOOST_TEST(last.ends_with("tail"));
}

BOOST_AUTO_TEST_CASE(the_cap_is_reported_and_off_stops_the_pump) {
    LiveLog log;
    log.follow();
    log.write(Stream::kStderr, "abc");
    log.truncated(Stream::kStderr);
    auto p = log.next(0ms);
    BOOST_TEST((p.stream == Stream::kStderr && p.data == "abc" && p.truncated));
    log.unfollow();
    BOOST_TEST((log.next(0ms).kind == Kind::kStop));
    BOOST_TEST(log.drained(0ms));
    BOOST_TEST(log.follow()); // a new follow needs a new pump, from the start
    p = log.next(0ms);
    BOOST_TEST((p.offset == 0u && p.data == "abc"));
}

BOOST_AUTO_TEST_CASE(a_second_follow_rewinds_and_needs_no_second_pump) {
    LiveLog log;
    log.write(Stream::kStdout, "1\n");
    BOOST_TEST(log.follow());
    BOOST_TEST(log.next(0ms).data == "1\n");
    BOOST_TEST(!log.follow());
    BOOST_TEST(log.next(0ms).data == "1\n");
}

BOOST_AUTO_TEST_SUITE_END()

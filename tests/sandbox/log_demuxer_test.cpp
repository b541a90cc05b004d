#include "sandbox/image_store.hpp"
#include "sandbox/log_demuxer.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::sandbox;

namespace {

std::string frame(int stream, std::string_view data) {
    std::string h(8, '\0');
    h[0] = static_cast<char>(stream);
    auto n = static_cast<std::uint32_t>(data.size());
    h[4] = static_cast<char>(n >> 24);
    h[5] = static_cast<char>(n >> 16);
    h[6] = static_cast<char>(n >> 8);
    h[7] = static_cast<char>(n);
    return h + std::string(data);
}

// What a follower's tap saw.
struct Seen final : LogTap {
    std::string out, err;
    int outCut = 0, errCut = 0;
    void write(Stream s, std::string_view b) override { (s == Stream::kStderr ? err : out) += b; }
    void truncated(Stream s) override { ++(s == Stream::kStderr ? errCut : outCut); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(log_demuxer)

// The live tap sees exactly the bytes kept, as they come, and each
// stream's cut once: a follower never sees more than the finished logs.
BOOST_AUTO_TEST_CASE(the_tap_sees_what_is_kept_and_the_cut_once) {
    Seen seen;
    LogDemuxer d(10, &seen);
    const std::string s = frame(1, "12345") + frame(2, "678") + frame(1, "9012345") + frame(1, "x");
    for (char c : s)
        BOOST_REQUIRE(d.feed(std::string_view(&c, 1)));
    BOOST_TEST(seen.out == d.out());
    BOOST_TEST(seen.err == d.err());
    BOOST_TEST(seen.out == "1234590");
    BOOST_TEST((seen.outCut == 1 && seen.errCut == 0));
}

BOOST_AUTO_TEST_CASE(splits_streams_across_chunk_boundaries) {
    std::string s = frame(1, "hello ") + frame(2, "oops\n") + frame(1, "world\n");
    LogDemuxer d(1000);
    for (char c : s) // one byte at a time
        BOOST_REQUIRE(d.feed(std::string_view(&c, 1)));
    BOOST_TEST(d.out() == "hello world\n");
    BOOST_TEST(d.err() == "oops\n");
    BOOST_TEST(!d.truncated());
    BOOST_TEST(!d.outTruncated());
    BOOST_TEST(!d.errTruncated());
}

BOOST_AUTO_TEST_CASE(caps_total_and_flags_truncation) {
    LogDemuxer d(10);
    BOOST_TEST(d.feed(frame(1, "12345")));
    BOOST_TEST(d.feed(frame(2, "6789012345"))); // keeps draining past the cap
    BOOST_TEST(d.out() == "12345");
    BOOST_TEST(d.err() == "67890");
    BOOST_TEST(d.truncated());
    BOOST_TEST(d.total() == 15u);
    // Only stderr lost bytes: the flag says which stream the worker cut.
    BOOST_TEST(!d.outTruncated());
    BOOST_TEST(d.errTruncated());
    BOOST_TEST(d.feed(frame(1, "x")));
    BOOST_TEST(d.outTruncated());
}

BOOST_AUTO_TEST_CASE(rejects_bad_headers) {
    LogDemuxer d(100);
    BOOST_TEST(!d.feed(std::string("\x07\x00\x00\x00\x00\x00\x00\x01x", 9)));
    BOOST_TEST(d.malformed());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(image_policy)

BOOST_AUTO_TEST_CASE(pull_policy) {
    ImagePolicy p;
    BOOST_TEST(!p.allows("docker.io/library/alpine@sha256:abc"));
    p.allowPull = {"docker.io/library/", "quay.io/org/tool"};
    BOOST_TEST(p.allows("docker.io/library/alpine@sha256:abc"));
    BOOST_TEST(!p.allows("docker.io/library/alpine:3.19")); // digest required
    BOOST_TEST(p.allows("quay.io/org/tool@sha256:abc"));
    BOOST_TEST(!p.allows("quay.io/org/toolkit@sha256:abc"));
    BOOST_TEST(!p.allows("docker.io/evil/alpine@sha256:abc"));
    p.requireDigestForPull = false;
    BOOST_TEST(p.allows("quay.io/org/tool:1.0"));
}

BOOST_AUTO_TEST_SUITE_END()

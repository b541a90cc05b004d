#include "wire/codec.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

using namespace swarm::wire;

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(frames_round_trip_across_arbitrary_splits) {
    std::vector<Bytes> payloads{{}, {1}, Bytes(1000, 7), Bytes(70000, 9)};
    Bytes stream;
    for (const auto& p : payloads) {
        auto f = encodeFrame(p);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
        FrameReader reader;
        std::vector<Bytes> got;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + rng() % 5000);
            BOOST_REQUIRE(reader.push(ByteView(stream).subspan(pos, n)));
            pos += n;
            while (auto frame = reader.next())
                got.push_back(std::move(*frame));
        }
        BOOST_TEST((got == payloads));
        BOOST_TEST(!reader.midFrame());
    }
}

BOOST_AUTO_TEST_CASE(oversized_header_fails_before_buffering) {
    FrameReader reader(1024);
    Bytes header{0x00, 0x00, 0x04, 0x01}; // 1025
    auto r = reader.push(header);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == Error::Code::kTooLarge));
    // Poisoned: later input fails the same way and nothing is buffered.
    BOOST_TEST(!reader.push(Bytes{1, 2, 3}).has_value());
    BOOST_TEST(!reader.next().has_value());
    BOOST_TEST(!reader.midFrame());

    FrameReader huge;
    BOOST_TEST(!huge.push(Bytes{0xff, 0xff, 0xff, 0xff}).has_value());
}

BOOST_AUTO_TEST_CASE(oversized_second_frame_in_one_push) {
    FrameReader reader(16);
    auto ok = encodeFrame(Bytes(4, 1), 16);
    Bytes both = ok;
    both.insert(both.end(), {0x00, 0x00, 0x00, 0x20});
    BOOST_TEST(!reader.push(both).has_value());
}

BOOST_AUTO_TEST_CASE(truncated_frame_is_visible) {
    FrameReader reader;
    auto f = encodeFrame(Bytes(100, 1));
    BOOST_REQUIRE(reader.push(ByteView(f).first(50)));
    BOOST_TEST(!reader.next().has_value());
    BOOST_TEST(reader.midFrame());
    BOOST_TEST(reader.wanted() == 54u);
}

BOOST_AUTO_TEST_CASE(wanted_asks_for_header_then_body) {
    FrameReader reader;
    BOOST_TEST(reader.wanted() == 4u);
    BOOST_REQUIRE(reader.push(Bytes{0, 0, 0, 10}));
    BOOST_TEST(reader.wanted() == 10u);
}

BOOST_AUTO_TEST_CASE(unpack_limits_refuse_huge_declarations) {
    // array32 header announcing 4 billion elements: no allocation, an error.
    Bytes hugeArray{0xdd, 0xff, 0xff, 0xff, 0xff};
    auto r = unpackBounded(hugeArray);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == Error::Code::kTooLarge));
    // A string or bin is allocated only once all its bytes are there: a
    // bare huge header is truncated input, and a complete one over the
    // limit is refused.
    Bytes hugeStr{0xdb, 0x7f, 0xff, 0xff, 0xff};
    BOOST_TEST(!unpackBounded(hugeStr).has_value());
    Bytes hugeBin{0xc6, 0x7f, 0xff, 0xff, 0xff};
    BOOST_TEST(!unpackBounded(hugeBin).has_value());
    auto bin = pack(Bytes(64, 1));
    BOOST_TEST(
        (unpackBounded(bin, UnpackLimits{.bin = 32}).error().code == Error::Code::kTooLarge));
    auto str = pack(std::string(64, 'x'));
    BOOST_TEST(
        (unpackBounded(str, UnpackLimits{.str = 32}).error().code == Error::Code::kTooLarge));
    Bytes hugeMap{0xdf, 0x00, 0x01, 0x00, 0x00};
    BOOST_TEST((unpackBounded(hugeMap).error().code == Error::Code::kTooLarge));
    Bytes ext{0xd4, 0x01, 0x00};
    BOOST_TEST((unpackBounded(ext).error().code == Error::Code::kTooLarge));
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused) {
    Bytes nested(1000, 0x91); // [[[[...
    nested.push_back(0x01);
    auto r = unpackBounded(nested);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == Error::Code::kTooLarge));
    Bytes shallow(10, 0x91);
    shallow.push_back(0x01);
    BOOST_TEST(unpackBounded(shallow).has_value());
}

BOOST_AUTO_TEST_CASE(truncated_and_trailing) {
    auto full = pack(std::vector<std::string>{"abc", "def"});
    auto r = unpackBounded(ByteView(full).first(full.size() - 1));
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == Error::Code::kTruncated));
    Bytes trailing = full;
    trailing.push_back(0xc0);
    BOOST_TEST((unpackBounded(trailing).error().code == Error::Code::kMalformed));
    BOOST_TEST((unpackBounded(Bytes{}).error().code == Error::Code::kTruncated));
    BOOST_TEST((unpackBounded(Bytes{0xc1}).error().code == Error::Code::kMalformed));
}

BOOST_AUTO_TEST_CASE(random_input_never_crashes) {
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {
        Bytes junk(rng() % 64);
        for (auto& b : junk)
            b = static_cast<std::uint8_t>(rng());
        (void)unpackBounded(junk);
        FrameReader reader(256);
        if (reader.push(junk))
            while (reader.next()) {
            }
    }
}

BOOST_AUTO_TEST_CASE(convert_as_reports_wrong_shape) {
    auto bytes = pack(std::string("not a number"));
    auto handle = unpackBounded(bytes);
    BOOST_REQUIRE(handle);
    auto v = convertAs<int>(handle->get(), "count");
    BOOST_REQUIRE(!v);
    BOOST_TEST(v.error().what.starts_with("count"));
}

BOOST_AUTO_TEST_SUITE_END()

#include "net/blob_transfer.hpp"

#include <boost/test/unit_test.hpp>

#include <msgpack.hpp>

using namespace swarm;

namespace {

wire::BlobChunk sample(std::size_t size) {
    wire::BlobChunk c;
    c.digest.fill(0xab);
    c.offset = 1ull << 33;
    c.total = (1ull << 33) + size;
    c.data.resize(size);
    for (std::size_t i = 0; i < size; ++i)
        c.data[i] = static_cast<std::uint8_t>(i * 7);
    return c;
}

wire::RawMessage decode(const wire::Bytes& payload) {
    auto raw = wire::decodeMessage(payload);
    BOOST_REQUIRE(raw);
    return std::move(*raw);
}

// [type, body] where the body map is written by `body`.
template <typename F> wire::Bytes message(std::uint32_t pairs, F body) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(static_cast<std::uint16_t>(wire::MsgType::kBlobChunk));
    pk.pack_map(pairs);
    body(pk);
    auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    return wire::Bytes(p, p + buf.size());
}

} // namespace

BOOST_AUTO_TEST_SUITE(chunk_view)

BOOST_AUTO_TEST_CASE(matches_body_as_for_every_bin_header_size) {
    for (std::size_t size : {0u, 1u, 255u, 256u, 65535u, 65536u, 256u * 1024u}) {
        auto raw = decode(wire::encodeMessage(sample(size)));
        auto full = wire::bodyAs<wire::BlobChunk>(raw);
        auto view = net::chunkView(raw);
        BOOST_REQUIRE(full);
        BOOST_REQUIRE(view);
        BOOST_TEST((view->digest == full->digest));
        BOOST_TEST(view->offset == full->offset);
        BOOST_TEST(view->total == full->total);
        BOOST_TEST((wire::Bytes(view->data.begin(), view->data.end()) == full->data));
    }
}

BOOST_AUTO_TEST_CASE(refuses_what_body_as_refuses) {
    // Another message type.
    auto progress = decode(wire::encodeMessage(wire::Progress{}));
    BOOST_TEST(!wire::bodyAs<wire::BlobChunk>(progress));
    BOOST_TEST((net::chunkView(progress).error().code == wire::Error::Code::kMalformed));

    // Data that is not bytes.
    auto intData = decode(message(1, [](auto& pk) {
        pk.pack(std::string("data"));
        pk.pack(42);
    }));
    BOOST_TEST(!wire::bodyAs<wire::BlobChunk>(intData));
    BOOST_TEST((net::chunkView(intData).error().code == wire::Error::Code::kMalformed));

    // A key that is not a string.
    auto intKey = decode(message(1, [](auto& pk) {
        pk.pack(1);
        pk.pack(2);
    }));
    BOOST_TEST(!wire::bodyAs<wire::BlobChunk>(intKey));
    BOOST_TEST((net::chunkView(intKey).error().code == wire::Error::Code::kMalformed));

    // A digest that is not bytes.
    auto strDigest = decode(message(1, [](auto& pk) {
        pk.pack(std::string("digest"));
        pk.pack(1.5);
    }));
    BOOST_TEST(!wire::bodyAs<wire::BlobChunk>(strDigest));
    BOOST_TEST(!net::chunkView(strDigest));

    // Schema version 0.
    auto v0 = decode(message(1, [](auto& pk) {
        pk.pack(std::string("version"));
        pk.pack(0);
    }));
    BOOST_TEST((wire::bodyAs<wire::BlobChunk>(v0).error().code == wire::Error::Code::kUnknownType));
    BOOST_TEST((net::chunkView(v0).error().code == wire::Error::Code::kUnknownType));
}

BOOST_AUTO_TEST_CASE(accepts_what_body_as_accepts) {
    // A short digest is read the same way by both.
    auto shortDigest = decode(message(1, [](auto& pk) {
        pk.pack(std::string("digest"));
        pk.pack_bin(3);
        pk.pack_bin_body("abc", 3);
    }));
    auto fullShort = wire::bodyAs<wire::BlobChunk>(shortDigest);
    auto viewShort = net::chunkView(shortDigest);
    BOOST_REQUIRE(fullShort.has_value() == viewShort.has_value());
    if (fullShort)
        BOOST_TEST((fullShort->digest == viewShort->digest));

    // Data as str, a repeated key (the first wins), unknown keys ignored.
    auto raw = decode(message(6, [](auto& pk) {
        pk.pack(std::string("digest"));
        pk.pack_bin(32);
        pk.pack_bin_body(std::string(32, '\1').data(), 32);
        pk.pack(std::string("total"));
        pk.pack(8);
        pk.pack(std::string("data"));
        pk.pack(std::string("xyz"));
        pk.pack(std::string("data"));
        pk.pack(std::string("ignored"));
        pk.pack(std::string("extra"));
        pk.pack(1);
        pk.pack(std::string("offset"));
        pk.pack(5);
    }));
    auto full = wire::bodyAs<wire::BlobChunk>(raw);
    auto view = net::chunkView(raw);
    BOOST_REQUIRE(full);
    BOOST_REQUIRE(view);
    BOOST_TEST((wire::Bytes(view->data.begin(), view->data.end()) == full->data));
    BOOST_TEST(full->data.size() == 3u);
    BOOST_TEST(view->offset == 5u);
    BOOST_TEST(view->total == 8u);

    // The judge's rules hold for both: a chunk past its total is refused.
    auto past = decode(message(4, [](auto& pk) {
        pk.pack(std::string("digest"));
        pk.pack_bin(32);
        pk.pack_bin_body(std::string(32, '\1').data(), 32);
        pk.pack(std::string("total"));
        pk.pack(2);
        pk.pack(std::string("offset"));
        pk.pack(1);
        pk.pack(std::string("data"));
        pk.pack(std::string("xyz"));
    }));
    BOOST_TEST((wire::bodyAs<wire::BlobChunk>(past).error().code == wire::Error::Code::kRefused));
    BOOST_TEST((net::chunkView(past).error().code == wire::Error::Code::kRefused));
}

BOOST_AUTO_TEST_SUITE_END()

#include "net/blob_store.hpp"
#include "net/socket.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <random>

using namespace swarm;
namespace fs = std::filesystem;

namespace {

wire::Bytes bytesOf(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    wire::Bytes b(n);
    for (auto& x : b)
        x = static_cast<std::uint8_t>(rng());
    return b;
}

std::size_t partialFiles(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(".partial-"))
            ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(blob_store)

BOOST_AUTO_TEST_CASE(put_contains_open_missing) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path() / "blobs", {.maxBytes = 1 << 20, .fsync = false}, clock);
    auto data = bytesOf(1000, 1);
    auto d = store.put(data);
    BOOST_REQUIRE(d);
    BOOST_TEST(d->str() == wire::sha256(data).str());
    BOOST_TEST(store.contains(*d));
    BOOST_TEST(store.usedBytes() == 1000u);
    BOOST_TEST(fs::file_size(store.pathOf(*d)) == 1000u);
    auto file = store.open(*d);
    BOOST_REQUIRE(file);
    BOOST_TEST(file->size == 1000u);

    auto other = wire::sha256(wire::asBytes("absent"));
    std::vector<wire::Digest> wanted{*d, other, other, *d};
    auto miss = store.missing(wanted);
    BOOST_REQUIRE(miss.size() == 1u);
    BOOST_TEST(miss[0].str() == other.str());
    BOOST_TEST(store.open(other).error().code == net::Error::Code::kNotFound);

    // The empty blob is a blob too.
    auto empty = store.put({});
    BOOST_REQUIRE(empty);
    BOOST_TEST(store.contains(*empty));
    BOOST_TEST(fs::file_size(store.pathOf(*empty)) == 0u);
}

BOOST_AUTO_TEST_CASE(lru_eviction_under_the_limit) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 3000, .fsync = false}, clock);
    auto a = *store.put(bytesOf(1000, 1));
    clock.advance(1000);
    auto b = *store.put(bytesOf(1000, 2));
    clock.advance(1000);
    auto c = *store.put(bytesOf(1000, 3));
    clock.advance(1000);
    (void)store.missing(std::vector{a}); // a used again: b is now the oldest
    clock.advance(1000);
    auto d = *store.put(bytesOf(1000, 4));
    BOOST_TEST(!store.contains(b));
    BOOST_TEST(!fs::exists(store.pathOf(b)));
    BOOST_TEST(store.contains(a));
    BOOST_TEST(store.contains(c));
    BOOST_TEST(store.contains(d));
    BOOST_TEST(store.usedBytes() == 3000u);
    auto order = store.lruOrder();
    BOOST_REQUIRE(order.size() == 3u);
    BOOST_TEST(order[0].str() == c.str());
    BOOST_TEST(order[1].str() == a.str());
    BOOST_TEST(order[2].str() == d.str());
}

BOOST_AUTO_TEST_CASE(blobs_unused_past_the_age_limit_expire) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 1 << 20, .maxAgeMs = 10'000, .fsync = false},
                         clock);
    auto old = *store.put(bytesOf(1000, 1));
    auto pinned = *store.put(bytesOf(500, 2));
    BOOST_TEST(store.pin(pinned));
    clock.advance(6000);
    auto fresh = *store.put(bytesOf(200, 3));
    BOOST_TEST(store.expire() == 0u); // nothing older than 10 s yet
    clock.advance(6000);
    BOOST_TEST(store.expire() == 1000u);
    BOOST_TEST(!store.contains(old));
    BOOST_TEST(!fs::exists(store.pathOf(old)));
    BOOST_TEST(store.contains(pinned)); // in use: kept whatever its age
    BOOST_TEST(store.contains(fresh));
    BOOST_TEST(store.usedBytes() == 700u);
    net::BlobStore never(tmp.path() / "never", {.maxBytes = 1 << 20, .fsync = false}, clock);
    (void)*never.put(bytesOf(10, 4));
    clock.advance(1'000'000'000);
    BOOST_TEST(never.expire() == 0u);
}

BOOST_AUTO_TEST_CASE(equal_timestamps_fall_back_to_use_order) {
    test::TempDir tmp;
    wire::ManualClock clock; // never advanced
    net::BlobStore store(tmp.path(), {.maxBytes = 2000, .fsync = false}, clock);
    auto a = *store.put(bytesOf(1000, 1));
    auto b = *store.put(bytesOf(1000, 2));
    BOOST_REQUIRE(store.open(a));
    auto c = *store.put(bytesOf(1000, 3));
    BOOST_TEST(store.contains(a));
    BOOST_TEST(!store.contains(b));
    BOOST_TEST(store.contains(c));
}

BOOST_AUTO_TEST_CASE(lru_order_survives_reopen) {
    test::TempDir tmp;
    wire::ManualClock clock;
    wire::Digest a, b, c;
    {
        net::BlobStore store(tmp.path(), {.maxBytes = 10'000, .fsync = false}, clock);
        a = *store.put(bytesOf(1000, 1));
        clock.advance(1000);
        b = *store.put(bytesOf(1000, 2));
        clock.advance(1000);
        c = *store.put(bytesOf(1000, 3));
        clock.advance(1000);
        BOOST_REQUIRE(store.open(a)); // order now b, c, a
    }
    // Reopening with a smaller limit evicts the least recently used one.
    net::BlobStore store(tmp.path(), {.maxBytes = 2000, .fsync = false}, clock);
    BOOST_TEST(store.count() == 2u);
    BOOST_TEST(!store.contains(b));
    BOOST_TEST(store.contains(c));
    BOOST_TEST(store.contains(a));
    auto order = store.lruOrder();
    BOOST_TEST(order[0].str() == c.str());
}

BOOST_AUTO_TEST_CASE(pinned_blobs_are_not_evicted) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 2000, .fsync = false}, clock);
    auto a = *store.put(bytesOf(1000, 1));
    clock.advance(10);
    BOOST_TEST(store.pin(a));
    clock.advance(10);
    auto b = *store.put(bytesOf(1000, 2));
    clock.advance(10);
    (void)store.missing(std::vector{a}); // make b older... then pin a anyway
    clock.advance(10);
    auto c = *store.put(bytesOf(1000, 3));
    BOOST_TEST(store.contains(a));
    BOOST_TEST(!store.contains(b));
    BOOST_TEST(store.contains(c));
    // With everything pinned the store goes over its limit rather than
    // deleting a blob in use.
    BOOST_TEST(store.pin(c));
    clock.advance(10);
    auto d = *store.put(bytesOf(1000, 4));
    BOOST_TEST(store.contains(a));
    BOOST_TEST(store.contains(c));
    BOOST_TEST(store.contains(d));
    store.unpin(a);
    BOOST_TEST(!store.contains(a));
    BOOST_TEST(store.usedBytes() == 2000u);
}

BOOST_AUTO_TEST_CASE(too_large_blob_is_refused) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 100, .fsync = false}, clock);
    auto r = store.put(bytesOf(101, 1));
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == net::Error::Code::kTooLarge);
    BOOST_TEST(store.count() == 0u);
    BOOST_TEST(partialFiles(tmp.path()) == 0u);
}

BOOST_AUTO_TEST_CASE(writer_verifies_before_publishing) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 1 << 20, .fsync = false}, clock);
    auto data = bytesOf(5000, 7);
    auto digest = wire::sha256(data);
    {
        auto w = store.begin(digest, data.size());
        BOOST_REQUIRE(w);
        auto bad = data;
        bad[1234] ^= 1;
        BOOST_REQUIRE(w->append(bad));
        BOOST_TEST(partialFiles(tmp.path()) == 1u);
        BOOST_TEST(!fs::exists(store.pathOf(digest)));
        auto c = w->commit();
        BOOST_REQUIRE(!c);
        BOOST_TEST(c.error().code == net::Error::Code::kCorrupt);
    }
    BOOST_TEST(!fs::exists(store.pathOf(digest)));
    BOOST_TEST(partialFiles(tmp.path()) == 0u);
    {
        auto w = store.begin(digest, data.size());
        BOOST_REQUIRE(w->append(wire::ByteView(data).first(100)));
        auto c = w->commit();
        BOOST_TEST(c.error().code == net::Error::Code::kTruncated);
    }
    {
        auto w = store.begin(digest, data.size());
        BOOST_REQUIRE(w->append(wire::ByteView(data).first(100)));
        // abandoned: destructor removes the partial file
    }
    BOOST_TEST(partialFiles(tmp.path()) == 0u);
    {
        auto w = store.begin(digest, 10);
        auto r = w->append(data);
        BOOST_TEST(r.error().code == net::Error::Code::kTooLarge);
    }
    BOOST_TEST(store.count() == 0u);
    auto w = store.begin(digest, data.size());
    BOOST_REQUIRE(w->append(data));
    BOOST_REQUIRE(w->commit());
    BOOST_TEST(store.contains(digest));
    BOOST_TEST(partialFiles(tmp.path()) == 0u);
}

BOOST_AUTO_TEST_CASE(open_cleans_partials_and_ignores_strangers) {
    test::TempDir tmp;
    std::ofstream(tmp.path() / ".partial-deadbeef") << "half a blob";
    std::ofstream(tmp.path() / "README") << "not a blob";
    wire::ManualClock clock;
    net::BlobStore store(tmp.path(), {.maxBytes = 1 << 20, .fsync = false}, clock);
    BOOST_TEST(store.count() == 0u);
    BOOST_TEST(!fs::exists(tmp.path() / ".partial-deadbeef"));
    BOOST_TEST(fs::exists(tmp.path() / "README"));
}

BOOST_AUTO_TEST_CASE(put_file_copies_and_hashes) {
    test::TempDir tmp;
    wire::ManualClock clock;
    net::BlobStore store(tmp.path() / "store", {.maxBytes = 10 << 20, .fsync = true}, clock);
    auto data = bytesOf(3 << 20, 9);
    {
        std::ofstream out(tmp.path() / "input.bin", std::ios::binary);
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<long>(data.size()));
    }
    auto d = store.putFile(tmp.path() / "input.bin");
    BOOST_REQUIRE(d);
    BOOST_TEST(d->str() == wire::sha256(data).str());
    BOOST_TEST(fs::file_size(store.pathOf(*d)) == data.size());
    BOOST_TEST(store.putFile(tmp.path() / "nope").error().code == net::Error::Code::kIo);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(endpoint)

BOOST_AUTO_TEST_CASE(parse) {
    auto e = net::Endpoint::parse("127.0.0.1:4242");
    BOOST_REQUIRE(e);
    BOOST_TEST(e->host == "127.0.0.1");
    BOOST_TEST(e->port == 4242);
    auto v6 = net::Endpoint::parse("[::1]:80");
    BOOST_REQUIRE(v6);
    BOOST_TEST(v6->host == "::1");
    BOOST_TEST(v6->str() == "[::1]:80");
    BOOST_TEST(net::Endpoint::parse("host.example:1")->host == "host.example");
    for (const char* bad : {"", "nohost", ":80", "h:", "h:0", "h:65536", "h:8x", "[::1]80", "[::1"})
        BOOST_TEST(!net::Endpoint::parse(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()

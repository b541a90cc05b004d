#include "base/sha256.hpp"
#include "fixtures.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <map>
#include <mutex>
#include <random>
#include <unistd.h>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;
namespace fs = std::filesystem;

namespace {

wire::Bytes randomBytes(std::size_t n, std::uint32_t seed) {
    std::mt19937_64 rng(seed);
    wire::Bytes b(n);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        auto v = rng();
        std::memcpy(b.data() + i, &v, 8);
    }
    for (; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(rng());
    return b;
}

std::size_t partialFiles(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(".partial-"))
            ++n;
    return n;
}

wire::Digest hashFile(const fs::path& path) {
    return wire::Digest{base::hashFile(path).digest};
}

/// Sends a blob with one byte flipped in its second chunk (or the first,
/// for a one-chunk blob).
void sendCorrupted(net::Session& s, net::BlobStore& store, const wire::Digest& d) {
    auto file = store.open(d);
    BOOST_REQUIRE(file);
    std::uint64_t offset = 0;
    int index = 0;
    do {
        wire::BlobChunk chunk;
        chunk.digest = d.bytes;
        chunk.total = file->size;
        chunk.offset = offset;
        auto n = std::min<std::uint64_t>(net::kBlobChunkSize, file->size - offset);
        chunk.data.resize(n);
        BOOST_REQUIRE(::pread(file->fd.get(), chunk.data.data(), n, static_cast<off_t>(offset)) ==
                      static_cast<ssize_t>(n));
        if (n > 0 && (index == 1 || file->size <= net::kBlobChunkSize) && offset < 2 * n)
            chunk.data[n / 2] ^= 0x40;
        if (!s.send(chunk))
            return;
        offset += n;
        ++index;
    } while (offset < file->size);
}

/// Submitter side: serves NeedBlobs from its store; the first `corruptTimes`
/// requests for `victim` get a corrupted copy.
struct BlobServer {
    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore store{dir.path() / "server", {.maxBytes = 1ull << 30, .fsync = false}, clock};
    Peer server = Peer::make();
    Peer worker = Peer::make();
    std::mutex mutex;
    std::map<wire::Digest, int> requests;
    std::optional<wire::Digest> victim;
    int corruptTimes = 0;
    std::unique_ptr<test::TestServer> srv;

    BlobServer() {
        net::ListenerConfig config;
        config.limits.handshake = 3s;
        config.limits.frame = 5s;
        srv = std::make_unique<test::TestServer>(
            server, std::initializer_list<const Peer*>{&worker}, config);
        srv->body = [this](net::Session& s, const wire::Hello&) {
            for (;;) {
                auto need = s.receiveAs<wire::NeedBlobs>(10s);
                if (!need)
                    return;
                for (const auto& raw : need->digests) {
                    auto d = net::toDigest(raw);
                    bool corrupt;
                    {
                        std::lock_guard lock(mutex);
                        int n = ++requests[d];
                        corrupt = victim && *victim == d && n <= corruptTimes;
                    }
                    if (corrupt) {
                        sendCorrupted(s, store, d);
                    } else if (auto r = net::sendBlob(s, store, d);
                               !r && r.error().code != net::Error::Code::kNotFound) {
                        return;
                    }
                }
            }
        };
    }

    std::unique_ptr<net::Session> dial() {
        net::Dialer dialer(worker.creds);
        auto s = dialer.dial(srv->endpoint(), net::allowList(test::trusting({&server}, worker)),
                             test::hello());
        BOOST_REQUIRE(s);
        return std::move(*s);
    }
    int requestsFor(const wire::Digest& d) {
        std::lock_guard lock(mutex);
        return requests[d];
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(blob_transfer)

BOOST_AUTO_TEST_CASE(small_large_and_empty_blobs_arrive_verified) {
    BlobServer bs;
    auto small = *bs.store.put(randomBytes(1024, 1));
    auto large = *bs.store.put(randomBytes(64u << 20, 2));
    auto empty = *bs.store.put({});

    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore mine(dir.path(), {.maxBytes = 1ull << 30, .fsync = true}, clock);
    auto session = bs.dial();

    // Watch the large blob's final name while it is in flight: it either does
    // not exist or is complete.
    std::atomic<bool> done{false};
    std::atomic<int> partialSeen{0};
    std::thread watcher([&] {
        while (!done) {
            std::error_code ec;
            auto size = fs::file_size(mine.pathOf(large), ec);
            if (!ec && size != (64u << 20))
                ++partialSeen;
            std::this_thread::sleep_for(1ms);
        }
    });
    auto start = net::SteadyClock::now();
    std::vector<wire::Digest> wanted{small, large, empty, small};
    auto got = net::fetchBlobs(*session, mine, wanted);
    auto took = std::chrono::duration<double>(net::SteadyClock::now() - start).count();
    done = true;
    watcher.join();
    BOOST_REQUIRE_MESSAGE(got, (got ? "" : net::describe(got.error())));
    BOOST_TEST_MESSAGE("fetched 64 MiB + 1 KiB + empty in " << took << " s");
    BOOST_TEST(partialSeen == 0);
    for (const auto& d : {small, large, empty}) {
        BOOST_TEST(mine.contains(d));
        BOOST_TEST(hashFile(mine.pathOf(d)).str() == d.str());
        BOOST_TEST(bs.requestsFor(d) == 1); // asked once, even though listed twice
    }
    BOOST_TEST(fs::file_size(mine.pathOf(empty)) == 0u);
    BOOST_TEST(partialFiles(dir.path()) == 0u);

    // Everything present: nothing is asked for again.
    BOOST_REQUIRE(net::fetchBlobs(*session, mine, wanted));
    BOOST_TEST(bs.requestsFor(large) == 1);
}

BOOST_AUTO_TEST_CASE(corrupted_chunk_is_detected_and_refetched) {
    BlobServer bs;
    auto blob = *bs.store.put(randomBytes(1u << 20, 3));
    bs.victim = blob;
    bs.corruptTimes = 1;

    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore mine(dir.path(), {.maxBytes = 1ull << 30, .fsync = false}, clock);
    auto session = bs.dial();
    auto got = net::fetchBlobs(*session, mine, std::vector{blob});
    BOOST_REQUIRE_MESSAGE(got, (got ? "" : net::describe(got.error())));
    BOOST_TEST(bs.requestsFor(blob) == 2);
    BOOST_TEST(hashFile(mine.pathOf(blob)).str() == blob.str());
    BOOST_TEST(partialFiles(dir.path()) == 0u);
}

BOOST_AUTO_TEST_CASE(persistent_corruption_fails_cleanly) {
    BlobServer bs;
    auto blob = *bs.store.put(randomBytes(600 * 1024, 4));
    auto good = *bs.store.put(randomBytes(1000, 5));
    bs.victim = blob;
    bs.corruptTimes = 100;

    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore mine(dir.path(), {.maxBytes = 1ull << 30, .fsync = false}, clock);
    auto session = bs.dial();
    auto got = net::fetchBlobs(*session, mine, std::vector{blob, good});
    BOOST_REQUIRE(!got);
    BOOST_TEST((got.error().code == net::Error::Code::kCorrupt));
    BOOST_TEST_MESSAGE("persistent corruption: " << net::describe(got.error()));
    BOOST_TEST(bs.requestsFor(blob) == 2); // the first try and one refetch
    BOOST_TEST(!fs::exists(mine.pathOf(blob)));
    BOOST_TEST(mine.contains(good)); // the healthy one in the same batch landed
    BOOST_TEST(partialFiles(dir.path()) == 0u);
    // The session is still in step and usable.
    BOOST_TEST(!session->broken());
    auto other = *bs.store.put(randomBytes(10, 6));
    BOOST_TEST(net::fetchBlobs(*session, mine, std::vector{other}).has_value());
}

BOOST_AUTO_TEST_CASE(missing_blob_is_reported_and_the_session_stays_in_step) {
    BlobServer bs;
    auto present = *bs.store.put(randomBytes(300 * 1024, 7));
    auto absent = wire::sha256(wire::asBytes("nobody has this"));

    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore mine(dir.path(), {.maxBytes = 1ull << 30, .fsync = false}, clock);
    auto session = bs.dial();
    auto got = net::fetchBlobs(*session, mine, std::vector{absent, present});
    BOOST_REQUIRE(!got);
    BOOST_TEST((got.error().code == net::Error::Code::kNotFound));
    BOOST_TEST(mine.contains(present));
    BOOST_TEST(!session->broken());
}

BOOST_AUTO_TEST_CASE(blob_over_the_receivers_limit_is_refused) {
    BlobServer bs;
    auto blob = *bs.store.put(randomBytes(2u << 20, 8));

    test::TempDir dir;
    wire::ManualClock clock;
    net::BlobStore mine(dir.path(), {.maxBytes = 1u << 20, .fsync = false}, clock);
    auto session = bs.dial();
    auto got = net::fetchBlobs(*session, mine, std::vector{blob});
    BOOST_REQUIRE(!got);
    BOOST_TEST((got.error().code == net::Error::Code::kTooLarge));
    BOOST_TEST(!fs::exists(mine.pathOf(blob)));
    BOOST_TEST(partialFiles(dir.path()) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

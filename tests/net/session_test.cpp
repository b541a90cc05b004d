#include "fixtures.hpp"

#include "net/blob_transfer.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <future>
#include <utility>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;

namespace {

// A session to a server that reads nothing until released (then reads
// whatever came until the stream ends), with the given write deadline.
struct StalledServer {
    Peer server = Peer::make();
    Peer worker = Peer::make();
    std::promise<void> release;
    bool released = false;
    test::TestServer srv{server, {&worker}};
    std::expected<std::unique_ptr<net::Session>, net::Error> session;

    explicit StalledServer(std::chrono::milliseconds write) {
        srv.body = [until = release.get_future().share()](net::Session& s, const wire::Hello&) {
            (void)until.wait_for(30s);
            while (s.receive(2s))
                ;
        };
        net::SessionLimits limits;
        limits.write = write;
        net::Dialer dialer(worker.creds, limits);
        session = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                              test::hello());
    }
    ~StalledServer() { letRead(); }
    void letRead() {
        if (!std::exchange(released, true))
            release.set_value();
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(session)

BOOST_AUTO_TEST_CASE(partial_frame_memory_is_bounded_and_released) {
    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.limits.handshake = 3s;
    config.limits.frame = 1500ms;
    test::TestServer srv(server, {&worker}, config);
    std::promise<net::Error::Code> outcome;
    srv.body = [&](net::Session& s, const wire::Hello&) {
        auto r = s.receive(10s);
        outcome.set_value(r ? net::Error::Code::kIo : r.error().code);
    };
    net::Dialer dialer(worker.creds);
    auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                         test::hello());
    BOOST_REQUIRE(s);
    // Announce a 900 KiB frame, send 500 KiB of it, stall.
    wire::Bytes part(4 + 500 * 1024, 0x42);
    const std::uint32_t len = 900 * 1024;
    part[0] = static_cast<std::uint8_t>(len >> 24);
    part[1] = static_cast<std::uint8_t>(len >> 16);
    part[2] = static_cast<std::uint8_t>(len >> 8);
    part[3] = static_cast<std::uint8_t>(len);
    BOOST_REQUIRE((*s)->writeRaw(part));
    BOOST_REQUIRE(test::waitUntil(
        [&] {
            return srv.listener->stats().bufferedBytes >= static_cast<std::int64_t>(part.size());
        },
        3s));
    BOOST_TEST(srv.listener->stats().bufferedBytes <=
               static_cast<std::int64_t>(wire::kDefaultMaxFrame + wire::kFrameHeader));
    auto fut = outcome.get_future();
    BOOST_REQUIRE((fut.wait_for(5s) == std::future_status::ready));
    BOOST_TEST((fut.get() == net::Error::Code::kTimeout));
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().bufferedBytes == 0; }, 3s));
}

BOOST_AUTO_TEST_CASE(one_thread_sends_while_another_receives) {
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker});
    constexpr std::uint32_t kCount = 200;
    // The server sends kCount progress messages while reading kCount requests.
    srv.body = [&](net::Session& s, const wire::Hello&) {
        auto writer = std::async(std::launch::async, [&] {
            for (std::uint32_t i = 0; i < kCount; ++i) {
                if (!s.send(test::progress(i)))
                    return false;
            }
            return true;
        });
        std::uint32_t got = 0;
        while (got < kCount && s.receiveAs<wire::RequestWork>(5s))
            ++got;
        bool wrote = writer.get();
        if (got == kCount && wrote)
            (void)s.send(wire::Bye{});
    };
    net::Dialer dialer(worker.creds);
    auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                         test::hello());
    BOOST_REQUIRE(s);
    auto sender = std::async(std::launch::async, [&] {
        for (std::uint32_t i = 0; i < kCount; ++i)
            if (!(*s)->send(wire::RequestWork{}))
                return false;
        return true;
    });
    std::uint32_t next = 0;
    for (; next < kCount; ++next) {
        auto p = (*s)->receiveAs<wire::Progress>(5s);
        BOOST_REQUIRE(p);
        BOOST_REQUIRE(p->replica == next);
    }
    BOOST_TEST(sender.get());
    auto bye = (*s)->receiveAs<wire::Bye>(5s);
    BOOST_TEST(bye.has_value());
}

BOOST_AUTO_TEST_CASE(blob_chunks_and_other_frames_arrive_intact) {
    // Sizes around the bin8/16/32 headers and the 16 KiB record size, so
    // that frames start, end and straddle records everywhere.
    const std::vector<std::size_t> sizes = {0,     1,     200,   255,   256,        16300,
                                            16384, 16385, 32768, 65535, 65536,      100000,
                                            0,     3,     40000, 16379, 256 * 1024, 7};
    auto chunk = [](std::size_t i, std::size_t size) {
        wire::BlobChunk c;
        c.digest.fill(static_cast<std::uint8_t>(i + 1)); // all zero is no digest
        c.offset = i;
        c.total = i * 1000 + size;
        c.data.resize(size);
        for (std::size_t k = 0; k < size; ++k)
            c.data[k] = static_cast<std::uint8_t>(k * 31 + i);
        return c;
    };
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker});
    std::promise<std::string> outcome;
    srv.body = [&](net::Session& s, const wire::Hello&) {
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            auto raw = s.receive(10s);
            if (!raw)
                return outcome.set_value("receive " + std::to_string(i) + ": " +
                                         net::describe(raw.error()));
            if (i % 3 == 2) { // interleaved small messages stay in step
                auto p = s.bodyOrBreak<wire::Progress>(*raw);
                if (!p || p->replica != i)
                    return outcome.set_value("progress " + std::to_string(i));
                continue;
            }
            auto want = chunk(i, sizes[i]);
            auto got = s.bodyOrBreak<wire::BlobChunk>(*raw);
            auto view = net::chunkView(*raw);
            if (!got || !view || got->digest != want.digest || got->offset != want.offset ||
                got->total != want.total || got->data != want.data ||
                !std::ranges::equal(view->data, want.data))
                return outcome.set_value("chunk " + std::to_string(i) + " differs");
        }
        outcome.set_value("ok");
    };
    net::Dialer dialer(worker.creds);
    auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                         test::hello());
    BOOST_REQUIRE(s);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (i % 3 == 2) {
            BOOST_REQUIRE((*s)->send(test::progress(static_cast<std::uint32_t>(i))));
        } else {
            BOOST_REQUIRE((*s)->send(chunk(i, sizes[i])));
        }
    }
    auto fut = outcome.get_future();
    BOOST_REQUIRE((fut.wait_for(10s) == std::future_status::ready));
    BOOST_TEST(fut.get() == "ok");
}

BOOST_AUTO_TEST_CASE(a_chunk_over_the_frame_cap_is_refused_and_the_session_stays_usable) {
    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.limits.maxFrame = 64 * 1024;
    test::TestServer srv(server, {&worker}, config);
    srv.body = test::echoBody;
    net::Dialer dialer(worker.creds, config.limits);
    auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                         test::hello());
    BOOST_REQUIRE(s);
    wire::BlobChunk big;
    big.data.resize(64 * 1024); // the data fits, the message around it does not
    auto sent = (*s)->send(big);
    BOOST_REQUIRE(!sent);
    BOOST_TEST((sent.error().code == net::Error::Code::kTooLarge));
    BOOST_TEST(!(*s)->broken());
    BOOST_REQUIRE((*s)->send(wire::RequestWork{}));
    BOOST_TEST((*s)->receiveAs<wire::Progress>(5s).has_value());
}

BOOST_AUTO_TEST_CASE(a_large_send_to_a_peer_that_stops_reading_times_out) {
    StalledServer stalled(1s);
    auto& s = stalled.session;
    BOOST_REQUIRE(s);
    wire::BlobChunk chunk;
    chunk.data.assign(256 * 1024, 0x5a);
    std::expected<void, net::Error> sent;
    net::SteadyClock::duration failedAfter{};
    int chunks = 0;
    for (; chunks < 800 && sent; ++chunks) { // up to 200 MiB, far beyond the socket buffers
        auto start = net::SteadyClock::now();
        sent = (*s)->send(chunk);
        failedAfter = net::SteadyClock::now() - start;
    }
    stalled.letRead();
    BOOST_TEST_MESSAGE("send timed out after " << chunks << " chunks");
    BOOST_REQUIRE(!sent);
    BOOST_TEST((sent.error().code == net::Error::Code::kTimeout));
    BOOST_TEST((failedAfter < 3s));
    BOOST_TEST((*s)->broken());
    BOOST_TEST(((*s)->send(chunk).error().code == net::Error::Code::kClosed));
}

BOOST_AUTO_TEST_CASE(writable_says_whether_a_small_send_would_wait) {
    // What a worker checks before asking a submitter for work from another
    // session's thread: a peer that stopped reading must not hold it.
    StalledServer stalled(2s);
    auto& s = stalled.session;
    BOOST_REQUIRE(s);
    BOOST_TEST((*s)->writable());
    // Small messages, as the check promises: POLLOUT means room for at
    // least half of what is queued, not for any size.
    wire::BlobChunk chunk;
    chunk.data.assign(1024, 0x5a);
    int chunks = 0;
    for (; chunks < 200'000 && (*s)->writable(); ++chunks) // at most 200 MiB
        BOOST_REQUIRE((*s)->send(chunk));
    BOOST_TEST_MESSAGE("not writable after " << chunks << " chunks");
    BOOST_TEST(!(*s)->writable());
    BOOST_TEST(!(*s)->broken()); // full, not failed
    stalled.letRead();
    BOOST_TEST(test::waitUntil([&] { return (*s)->writable(); }, 10s));
    (*s)->close();
    BOOST_TEST(!(*s)->writable());
}

BOOST_AUTO_TEST_CASE(stop_unblocks_busy_handlers) {
    auto server = Peer::make();
    auto worker = Peer::make();
    auto srv =
        std::make_unique<test::TestServer>(server, std::initializer_list<const Peer*>{&worker});
    std::atomic<int> returned{0};
    srv->body = [&](net::Session& s, const wire::Hello&) {
        (void)s.receive(60s); // would wait a minute
        ++returned;
    };
    net::Dialer dialer(worker.creds);
    std::vector<std::unique_ptr<net::Session>> clients;
    for (int i = 0; i < 3; ++i) {
        auto s = dialer.dial(srv->endpoint(), net::allowList(test::trusting({&server}, worker)),
                             test::hello());
        BOOST_REQUIRE(s);
        clients.push_back(std::move(*s));
    }
    BOOST_REQUIRE(test::waitUntil([&] { return srv->handlerRuns == 3; }));
    auto start = net::SteadyClock::now();
    srv->listener->stop();
    BOOST_TEST((net::SteadyClock::now() - start < 2s));
    BOOST_TEST(returned == 3);
    BOOST_TEST(srv->listener->stats().active == 0u);
    for (auto& c : clients)
        BOOST_TEST(!c->receive(2s));
}

BOOST_AUTO_TEST_SUITE_END()

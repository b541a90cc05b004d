#include "fixtures.hpp"

#include <boost/test/unit_test.hpp>

#include <mutex>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;

namespace {

/// A server whose handler reads one RequestWork and records what went wrong.
struct RecordingServer {
    Peer server = Peer::make();
    Peer worker = Peer::make();
    std::mutex mutex;
    std::vector<net::Error> errors;
    int served = 0;
    std::unique_ptr<test::TestServer> srv;

    RecordingServer() {
        net::ListenerConfig config;
        config.limits.handshake = 3s;
        config.limits.frame = 2s;
        config.limits.maxFrame = 64 * 1024;
        srv = std::make_unique<test::TestServer>(
            server, std::initializer_list<const Peer*>{&worker}, config);
        srv->body = [this](net::Session& s, const wire::Hello&) {
            auto req = s.receiveAs<wire::RequestWork>(5s);
            std::lock_guard lock(mutex);
            if (!req) {
                errors.push_back(req.error());
                return;
            }
            ++served;
            (void)s.send(test::progress());
        };
    }

    std::unique_ptr<net::Session> dial() {
        net::Dialer dialer(worker.creds);
        auto s = dialer.dial(srv->endpoint(), net::allowList(test::trusting({&server}, worker)),
                             test::hello());
        BOOST_REQUIRE(s);
        return std::move(*s);
    }

    net::Error nextError(std::size_t n) {
        BOOST_REQUIRE(test::waitUntil([&] {
            std::lock_guard lock(mutex);
            return errors.size() >= n;
        }));
        std::lock_guard lock(mutex);
        return errors[n - 1];
    }

    void stillServes() {
        auto s = dial();
        BOOST_REQUIRE(s->send(wire::RequestWork{}));
        BOOST_TEST(s->receiveAs<wire::Progress>(3s).has_value());
    }
};

wire::Bytes frame(const wire::Bytes& payload) {
    return wire::encodeFrame(payload, 1 << 30);
}

} // namespace

BOOST_AUTO_TEST_SUITE(frames)

BOOST_AUTO_TEST_CASE(oversized_frame_ends_the_session) {
    RecordingServer rs;
    auto s = rs.dial();
    const std::uint8_t header[] = {0x00, 0x20, 0x00, 0x00, 1, 2, 3}; // 2 MiB announced
    BOOST_REQUIRE(s->writeRaw(header));
    auto e = rs.nextError(1);
    BOOST_TEST((e.code == net::Error::Code::kTooLarge));
    BOOST_TEST_MESSAGE("oversized: " << net::describe(e));
    BOOST_TEST(!s->receive(3s)); // the server hung up
    BOOST_TEST(rs.srv->listener->stats().bufferedBytes < 64 * 1024);
    rs.stillServes();
}

BOOST_AUTO_TEST_CASE(frame_just_over_the_cap_is_refused_by_the_sender) {
    RecordingServer rs;
    auto s = rs.dial();
    wire::Bytes big(2 << 20);
    auto sent = s->sendPayload(big);
    BOOST_REQUIRE(!sent);
    BOOST_TEST((sent.error().code == net::Error::Code::kTooLarge));
    BOOST_TEST(!s->broken());
}

BOOST_AUTO_TEST_CASE(truncated_frame_ends_the_session) {
    RecordingServer rs;
    auto s = rs.dial();
    const std::uint8_t partial[] = {0, 0, 0, 100, 0x92, 0x02};
    BOOST_REQUIRE(s->writeRaw(partial));
    s->close();
    auto e = rs.nextError(1);
    BOOST_TEST((e.code == net::Error::Code::kTruncated));
    BOOST_TEST_MESSAGE("truncated: " << net::describe(e));
    rs.stillServes();
}

BOOST_AUTO_TEST_CASE(wrong_types_end_the_session) {
    RecordingServer rs;
    std::vector<wire::Bytes> payloads;
    {
        // unknown message type
        msgpack::sbuffer b;
        msgpack::packer<msgpack::sbuffer> pk(b);
        pk.pack_array(2);
        pk.pack(99);
        pk.pack_map(0);
        payloads.emplace_back(b.data(), b.data() + b.size());
    }
    {
        // right type, body of the wrong shape
        msgpack::sbuffer b;
        msgpack::packer<msgpack::sbuffer> pk(b);
        pk.pack_array(2);
        pk.pack(static_cast<int>(wire::MsgType::kRequestWork));
        pk.pack(std::string("not a map"));
        payloads.emplace_back(b.data(), b.data() + b.size());
    }
    // a different message than the one expected
    payloads.push_back(wire::encodeMessage(wire::Cancel{}));
    // not msgpack at all
    payloads.push_back(wire::Bytes{0xc1, 0xc1, 0xc1});
    // an empty payload
    payloads.push_back(wire::Bytes{});
    std::size_t n = 0;
    for (const auto& p : payloads) {
        auto s = rs.dial();
        BOOST_REQUIRE(s->writeRaw(frame(p)));
        auto e = rs.nextError(++n);
        BOOST_TEST(
            (e.code == net::Error::Code::kProtocol || e.code == net::Error::Code::kTruncated),
            net::describe(e));
        BOOST_TEST_MESSAGE("wrong type " << n << ": " << net::describe(e));
        BOOST_TEST(!s->receive(3s));
    }
    rs.stillServes();
    std::lock_guard lock(rs.mutex);
    BOOST_TEST(rs.served == 1);
}

BOOST_AUTO_TEST_SUITE_END()

#include "fixtures.hpp"
#include "net/socket.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <future>
#include <mutex>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;

namespace {

long vmRssKb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:"))
            return std::stol(line.substr(6));
    return -1;
}

void raiseFdLimit(rlim_t want) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::min(want, rl.rlim_max);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

net::SessionLimits limitsOf(std::chrono::milliseconds handshake, std::chrono::milliseconds frame) {
    net::SessionLimits l;
    l.handshake = handshake;
    l.frame = frame;
    l.write = 3s;
    return l;
}

} // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(silent_and_dribbling_clients_are_dropped_in_time) {
    raiseFdLimit(2048);
    constexpr int kSilent = 100;
    constexpr int kDribble = 100;
    constexpr auto kBound = 1500ms;
    constexpr auto kSlack = 1000ms;

    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.maxConnections = 256;
    config.limits = limitsOf(kBound, 3s);
    test::TestServer srv(server, {&worker}, config);
    srv.body = test::echoBody;
    const long rssBefore = vmRssKb();

    struct Conn {
        base::UniqueFd fd;
        net::Deadline opened;
        std::optional<net::Deadline> closed;
        bool dribble = false;
        std::size_t sent = 0;
    };
    std::vector<Conn> conns;
    for (int i = 0; i < kSilent + kDribble; ++i) {
        auto fd = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
        BOOST_REQUIRE_MESSAGE(fd, "connection " << i);
        conns.push_back({std::move(*fd), net::SteadyClock::now(), std::nullopt, i >= kSilent, 0});
    }

    // A trusted worker arrives in the middle of the attack and is served.
    auto trusted = std::async(std::launch::async, [&]() -> std::string {
        // Generous bounds: 200 handshake threads share 2 cores meanwhile.
        net::Dialer dialer(worker.creds, limitsOf(10s, 10s));
        auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                             test::hello());
        if (!s)
            return "dial: " + net::describe(s.error());
        if (auto sent = (*s)->send(wire::RequestWork{}); !sent)
            return "send: " + net::describe(sent.error());
        auto reply = (*s)->receiveAs<wire::Progress>(10s);
        if (!reply)
            return "receive: " + net::describe(reply.error());
        return "ok";
    });

    // The start of a TLS record announcing 512 bytes, then filler: one byte
    // a second keeps the server waiting for more.
    const std::uint8_t dribble[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03};
    std::int64_t peakBuffered = 0;
    std::uint64_t peakActive = 0;
    long peakRss = rssBefore;
    auto lastDribble = net::SteadyClock::now() - 1s;
    auto giveUp = net::SteadyClock::now() + kBound + 6s;
    std::size_t open = conns.size();
    while (open > 0 && net::SteadyClock::now() < giveUp) {
        if (net::SteadyClock::now() - lastDribble >= 1s) {
            lastDribble = net::SteadyClock::now();
            for (auto& c : conns)
                if (c.dribble && !c.closed && c.sent < sizeof dribble)
                    if (::send(c.fd.get(), &dribble[c.sent], 1, MSG_NOSIGNAL) == 1)
                        ++c.sent;
        }
        std::vector<pollfd> pfds;
        std::vector<Conn*> which;
        for (auto& c : conns)
            if (!c.closed) {
                pfds.push_back({c.fd.get(), POLLIN, 0});
                which.push_back(&c);
            }
        int n = ::poll(pfds.data(), pfds.size(), 20);
        for (std::size_t i = 0; n > 0 && i < pfds.size(); ++i) {
            if (pfds[i].revents == 0)
                continue;
            char buf[256];
            ssize_t r = ::recv(pfds[i].fd, buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                which[i]->closed = net::SteadyClock::now();
                --open;
            }
        }
        auto st = srv.listener->stats();
        peakBuffered = std::max(peakBuffered, st.bufferedBytes);
        peakActive = std::max(peakActive, st.active);
        peakRss = std::max(peakRss, vmRssKb());
    }

    BOOST_TEST(open == 0u);
    auto worst = 0ms;
    for (const auto& c : conns) {
        BOOST_REQUIRE(c.closed.has_value());
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*c.closed - c.opened);
        worst = std::max(worst, took);
        BOOST_TEST((took <= kBound + kSlack), "dropped after " << took.count() << " ms");
    }
    BOOST_TEST_MESSAGE("200 idle/dribbling connections: worst drop after "
                       << worst.count() << " ms, peak active " << peakActive << ", RSS +"
                       << (peakRss - rssBefore) / 1024 << " MiB");
    BOOST_TEST(trusted.get() == "ok");
    BOOST_TEST(peakActive >= 100u); // they really were held at the same time
    // Nothing is buffered for unauthenticated peers, and memory stays modest.
    BOOST_TEST(peakBuffered == 0);
    BOOST_TEST(peakRss - rssBefore < 128 * 1024);
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().active == 0; }, 5s));
    auto st = srv.listener->stats();
    BOOST_TEST(st.handshakeFailed == static_cast<std::uint64_t>(kSilent + kDribble));
    BOOST_TEST(st.handled == 1u);
    BOOST_TEST(srv.handlerRuns == 1);
}

BOOST_AUTO_TEST_CASE(excess_connections_are_refused_at_once) {
    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.maxConnections = 2;
    config.limits = limitsOf(3s, 3s);
    test::TestServer srv(server, {&worker}, config);

    auto a = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
    auto b = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
    BOOST_REQUIRE((a && b));
    BOOST_REQUIRE(test::waitUntil([&] { return srv.listener->stats().active == 2; }));
    auto c = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
    BOOST_REQUIRE(c);
    auto start = net::SteadyClock::now();
    char byte;
    auto r = net::readAll(c->get(), &byte, 1, start + 2s);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code != net::Error::Code::kTimeout));
    BOOST_TEST((net::SteadyClock::now() - start < 500ms));
    BOOST_TEST(srv.listener->stats().refused == 1u);
}

BOOST_AUTO_TEST_CASE(authenticated_peer_that_stalls_is_dropped) {
    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.limits = limitsOf(1500ms, 1000ms);
    test::TestServer srv(server, {&worker}, config);
    std::promise<std::pair<net::Error::Code, std::chrono::milliseconds>> outcome;
    srv.body = [&](net::Session& s, const wire::Hello&) {
        auto start = net::SteadyClock::now();
        auto r = s.receive(10s);
        auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(net::SteadyClock::now() - start);
        outcome.set_value({r ? net::Error::Code::kIo : r.error().code, took});
    };
    net::Dialer dialer(worker.creds, limitsOf(3s, 3s));
    auto trust = net::allowList(test::trusting({&server}, worker));

    // Never sends the hello: dropped at the handshake bound.
    auto silent = dialer.connect(srv.endpoint(), trust);
    BOOST_REQUIRE(silent);
    auto start = net::SteadyClock::now();
    // The server may say why (an ErrorMsg) before it hangs up.
    auto r = (*silent)->receive(5s);
    if (r)
        BOOST_TEST((r->type == wire::MsgType::kError));
    if (r)
        r = (*silent)->receive(5s);
    BOOST_TEST(!r);
    BOOST_TEST((net::SteadyClock::now() - start < 2500ms));
    BOOST_TEST(srv.listener->stats().helloRejected == 1u);
    BOOST_TEST(srv.handlerRuns == 0);

    // Starts a frame and stalls: the handler's receive fails at the frame bound.
    auto staller = dialer.dial(srv.endpoint(), trust, test::hello());
    BOOST_REQUIRE(staller);
    BOOST_REQUIRE(test::waitUntil([&] { return srv.handlerRuns == 1; }));
    const std::uint8_t partial[] = {0, 0, 3, 232, 0x92, 0x02, 0x81};
    BOOST_REQUIRE((*staller)->writeRaw(partial));
    auto fut = outcome.get_future();
    BOOST_REQUIRE((fut.wait_for(5s) == std::future_status::ready));
    auto [code, took] = fut.get();
    BOOST_TEST((code == net::Error::Code::kTimeout));
    BOOST_TEST((took < 2500ms));
}

BOOST_AUTO_TEST_CASE(idle_timeout_between_frames_keeps_the_session) {
    auto server = Peer::make();
    auto worker = Peer::make();
    net::ListenerConfig config;
    config.limits = limitsOf(3s, 3s);
    test::TestServer srv(server, {&worker}, config);
    srv.body = [](net::Session& s, const wire::Hello&) {
        auto first = s.receive(100ms);
        if (first || first.error().code != net::Error::Code::kTimeout || s.broken())
            return;
        test::echoBody(s, wire::Hello{});
    };
    net::Dialer dialer(worker.creds, limitsOf(3s, 3s));
    auto s = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                         test::hello());
    BOOST_REQUIRE(s);
    auto idle = (*s)->receive(300ms); // the server's idle wait expires meanwhile
    BOOST_REQUIRE(!idle);
    BOOST_TEST((idle.error().code == net::Error::Code::kTimeout));
    BOOST_TEST(!(*s)->broken());
    BOOST_REQUIRE((*s)->send(wire::RequestWork{}));
    BOOST_TEST((*s)->receiveAs<wire::Progress>(3s).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

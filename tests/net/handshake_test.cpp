#include "fixtures.hpp"
#include "net/socket.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <sys/socket.h>
#include <sys/time.h>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;

namespace {

net::SessionLimits fastLimits() {
    net::SessionLimits l;
    l.handshake = 3s;
    l.frame = 3s;
    l.write = 3s;
    return l;
}

net::ListenerConfig fastConfig() {
    net::ListenerConfig c;
    c.limits = fastLimits();
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(handshake)

BOOST_AUTO_TEST_CASE(trusted_pair_talks) {
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker}, fastConfig());
    srv.body = test::echoBody;

    net::Dialer dialer(worker.creds, fastLimits());
    auto check = net::allowListAndKey(test::trusting({&server}, worker), server.id.publicKey());
    auto session = dialer.dial(srv.endpoint(), check, test::hello());
    BOOST_REQUIRE_MESSAGE(session, (session ? "" : net::describe(session.error())));
    BOOST_TEST(((*session)->peer() == server.id.publicKey()));
    for (std::uint32_t i = 1; i <= 3; ++i) {
        wire::RequestWork req;
        req.slots = i;
        BOOST_REQUIRE((*session)->send(req));
        auto reply = (*session)->receiveAs<wire::Progress>(3s);
        BOOST_REQUIRE_MESSAGE(reply, (reply ? "" : net::describe(reply.error())));
        BOOST_TEST(reply->replica == i);
    }
    (*session)->close();
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().active == 0; }));
    auto st = srv.listener->stats();
    BOOST_TEST(st.handled == 1u);
    BOOST_TEST(st.handshakeFailed == 0u);
    BOOST_TEST(srv.handlerRuns == 1);
}

BOOST_AUTO_TEST_CASE(unknown_client_key_is_refused_in_handshake) {
    auto server = Peer::make();
    auto trusted = Peer::make();
    auto stranger = Peer::make();
    test::TestServer srv(server, {&trusted}, fastConfig());
    srv.body = test::echoBody;

    net::Dialer dialer(stranger.creds, fastLimits());
    auto session = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, stranger)),
                               test::hello());
    // In TLS 1.3 the client finishes before the server has judged its key:
    // the refusal shows up as a failed dial or a dead session.
    if (session) {
        auto got = (*session)->receive(3s);
        BOOST_TEST(!got);
    }
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().handshakeFailed == 1; }));
    BOOST_TEST(srv.listener->stats().handled == 0u);
    BOOST_TEST(srv.handlerRuns == 0);
}

BOOST_AUTO_TEST_CASE(server_key_must_be_the_one_the_offer_named) {
    auto server = Peer::make();
    auto named = Peer::make(); // the offer named this submitter
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker}, fastConfig());
    srv.body = test::echoBody;

    net::Dialer dialer(worker.creds, fastLimits());
    // The worker trusts both, but the offer named `named`.
    auto check =
        net::allowListAndKey(test::trusting({&server, &named}, worker), named.id.publicKey());
    auto session = dialer.dial(srv.endpoint(), check, test::hello());
    BOOST_REQUIRE(!session);
    BOOST_TEST((session.error().code == net::Error::Code::kUntrusted));
    BOOST_TEST(session.error().what.find("not the peer the offer named") != std::string::npos);
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().handshakeFailed == 1; }));
    BOOST_TEST(srv.handlerRuns == 0);

    // An untrusted server key fails on the client side too.
    auto lonely = net::allowList(test::trusting({&named}, worker));
    auto again = dialer.dial(srv.endpoint(), lonely, test::hello());
    BOOST_REQUIRE(!again);
    BOOST_TEST((again.error().code == net::Error::Code::kUntrusted));
    BOOST_TEST(srv.handlerRuns == 0);
}

BOOST_AUTO_TEST_CASE(wrong_token_is_rejected_before_the_handler) {
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker}, fastConfig());
    srv.body = test::echoBody;

    net::Dialer dialer(worker.creds, fastLimits());
    auto check = net::allowListAndKey(test::trusting({&server}, worker), server.id.publicKey());
    auto session = dialer.dial(srv.endpoint(), check, test::hello(test::token(9)));
    BOOST_REQUIRE(session);
    auto reply = (*session)->receive(3s);
    BOOST_REQUIRE(reply);
    BOOST_TEST((reply->type == wire::MsgType::kError));
    auto next = (*session)->receive(3s);
    BOOST_TEST(!next); // and the server hangs up
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().helloRejected == 1; }));
    BOOST_TEST(srv.listener->stats().handled == 0u);
    BOOST_TEST(srv.handlerRuns == 0);

    // A first message that is not a hello at all is rejected the same way.
    auto plain = dialer.connect(srv.endpoint(), check);
    BOOST_REQUIRE(plain);
    BOOST_REQUIRE((*plain)->send(wire::RequestWork{}));
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().helloRejected == 2; }));
    BOOST_TEST(srv.handlerRuns == 0);
}

BOOST_AUTO_TEST_CASE(tls12_only_client_is_refused) {
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker}, fastConfig());
    srv.body = test::echoBody;

    auto fd = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
    BOOST_REQUIRE(fd);
    // Back to blocking, with a receive timeout so the test cannot hang.
    int flags = fcntl(fd->get(), F_GETFL, 0);
    fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{3, 0};
    setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    gnutls_certificate_credentials_t cred = nullptr;
    BOOST_REQUIRE(gnutls_certificate_allocate_credentials(&cred) == 0);
    gnutls_session_t s = nullptr;
    BOOST_REQUIRE(gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_ENABLE_RAWPK) == 0);
    BOOST_REQUIRE(
        gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CTYPE-CLI-ALL:+CTYPE-SRV-ALL",
                                   nullptr) == 0);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_transport_set_int(s, fd->get());
    int rc;
    do {
        rc = gnutls_handshake(s);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    BOOST_TEST(rc < 0);
    BOOST_TEST_MESSAGE("TLS 1.2 client: " << gnutls_strerror(rc));
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);

    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().handshakeFailed == 1; }));
    BOOST_TEST(srv.handlerRuns == 0);
}

BOOST_AUTO_TEST_CASE(plain_tcp_garbage_is_refused) {
    auto server = Peer::make();
    auto worker = Peer::make();
    test::TestServer srv(server, {&worker}, fastConfig());
    srv.body = test::echoBody;

    for (std::string garbage : {std::string("GET / HTTP/1.0\r\n\r\n"), std::string(5000, 'A'),
                                std::string("\x17\x03\x03\x00\x05hello", 10)}) {
        auto fd = net::connectTcp(srv.endpoint(), net::SteadyClock::now() + 3s);
        BOOST_REQUIRE(fd);
        auto deadline = net::SteadyClock::now() + 3s;
        (void)net::writeAll(fd->get(), garbage.data(), garbage.size(), deadline);
        // The server closes the connection well before its handshake bound.
        char buf[4096];
        auto start = net::SteadyClock::now();
        bool closed = false;
        while (!closed && net::SteadyClock::now() < deadline) {
            auto r = net::readAll(fd->get(), buf, 1, deadline);
            if (!r)
                closed = r.error().code != net::Error::Code::kTimeout;
        }
        BOOST_TEST(closed);
        BOOST_TEST((net::SteadyClock::now() - start < 2s));
    }
    BOOST_TEST(test::waitUntil([&] { return srv.listener->stats().handshakeFailed == 3; }));
    BOOST_TEST(srv.listener->stats().handled == 0u);
    BOOST_TEST(srv.handlerRuns == 0);

    // ...and keeps serving trusted peers.
    net::Dialer dialer(worker.creds, fastLimits());
    auto ok = dialer.dial(srv.endpoint(), net::allowList(test::trusting({&server}, worker)),
                          test::hello());
    BOOST_REQUIRE(ok);
    BOOST_REQUIRE((*ok)->send(wire::RequestWork{}));
    BOOST_TEST((*ok)->receiveAs<wire::Progress>(3s).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

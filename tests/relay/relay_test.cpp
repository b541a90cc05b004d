// Relay circuits on loopback with real TLS: a peer reserved on a relay is
// reached by a peer that dials the relay, with the end-to-end session
// inside the circuit; and what a relay refuses.

#include "../net/fixtures.hpp"

#include "net/relay_client.hpp"
#include "net/relay_reservation.hpp"
#include "relay/relay_server.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace swarm;
using namespace std::chrono_literals;
using test::Peer;

namespace {

// Three peers that all trust each other: a relay, a peer behind NAT that
// reserves on it (the "submitter", serving sessions), and one that dials it
// through the relay (the "worker").
struct RelayFixture {
    Peer relayPeer = Peer::make();
    Peer reserved = Peer::make();
    Peer dialing = Peer::make();
    relay::RelayLimits limits;
    std::unique_ptr<relay::RelayServer> relay;
    test::TestServer server{reserved, {&dialing}};
    std::unique_ptr<net::RelayReservation> reservation;
    // Whether each end tries to replace a circuit by a hole punch; off for
    // the tests of the circuits themselves, since on loopback it works.
    bool reservedPunches = false;
    bool dialingPunches = false;

    RelayFixture() { limits.acceptWait = 2s; }

    void startRelay(std::uint16_t port = 0) {
        relay = std::make_unique<relay::RelayServer>(
            relayPeer.creds, net::allowList(test::trusting({&reserved, &dialing}, relayPeer)),
            "127.0.0.1", port, limits);
    }
    net::Endpoint relayEndpoint() const {
        return {"127.0.0.1", relay->port(), relayPeer.peerId().str()};
    }
    void reserve(net::PeerCheck peers) {
        net::RelayReservation::Options o;
        o.firstRetry = 200ms;
        o.maxRetry = 400ms;
        o.punch = reservedPunches;
        reservation = std::make_unique<net::RelayReservation>(
            reserved.creds, relayEndpoint(), net::allowList(test::trusting({&relayPeer}, reserved)),
            std::move(peers),
            [this](base::UniqueFd socket, std::string label, std::shared_ptr<void> keep) {
                server.listener->adopt(std::move(socket), std::move(label), std::move(keep));
            },
            o);
        BOOST_REQUIRE(test::waitUntil([&] { return reservation->active(); }));
    }
    void reserve() { reserve(net::allowList(test::trusting({&dialing}, reserved))); }
    net::Dialer dialer(const Peer& who) const {
        return net::Dialer(who.creds, {},
                           net::RelayRoute{net::allowList(test::trusting({&relayPeer}, who)),
                                           reserved.id.publicKey(), dialingPunches});
    }
    std::expected<std::unique_ptr<net::Session>, net::Error> dialThrough(const Peer& who) {
        return dialer(who).dial(
            relayEndpoint(),
            net::allowListAndKey(test::trusting({&reserved}, who), reserved.id.publicKey()),
            test::hello());
    }
};

// A session over the relay works like a direct one: hello, messages both
// ways, the peer's key authenticated end to end.
void exchange(net::Session& s) {
    BOOST_REQUIRE(s.send(wire::RequestWork{.slots = 3}));
    auto reply = s.receiveAs<wire::Progress>(5s);
    BOOST_REQUIRE_MESSAGE(reply, (reply ? "" : net::describe(reply.error())));
    BOOST_TEST(reply->replica == 3u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(relay_circuits)

BOOST_FIXTURE_TEST_CASE(a_session_runs_end_to_end_through_the_relay, RelayFixture) {
    server.body = test::echoBody;
    startRelay();
    reserve();
    BOOST_TEST(reservation->observed().starts_with("127.0.0.1:"));
    auto session = dialThrough(dialing);
    BOOST_REQUIRE_MESSAGE(session, (session ? "" : net::describe(session.error())));
    BOOST_TEST(((*session)->peer() == reserved.id.publicKey()));
    BOOST_TEST((*session)->peerAddress().find("via relay") != std::string::npos);
    exchange(**session);
    BOOST_TEST(server.handlerRuns == 1);
    BOOST_TEST(relay->stats().circuitsOpened == 1u);
    BOOST_TEST(relay->stats().bytes > 0u);
    (*session)->close();
    session->reset();
    BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }));
}

// Both ends try to punch. On loopback a punch connects only if both
// connect() calls happen to overlap (a SYN to a port nobody punches from is
// refused at once), so either path may come out; whichever it is, the
// session works and is authenticated end to end. tests/netlab, whose
// routers drop unsolicited SYNs as home routers do, shows the punch itself.
BOOST_FIXTURE_TEST_CASE(a_session_works_whether_or_not_its_punch_connects, RelayFixture) {
    reservedPunches = dialingPunches = true;
    server.body = test::echoBody;
    startRelay();
    reserve();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE_MESSAGE(session, (session ? "" : net::describe(session.error())));
    BOOST_TEST(((*session)->peer() == reserved.id.publicKey()));
    const auto path = net::sessionPath((*session)->peerAddress());
    BOOST_TEST((path == "hole-punched" || path == "relayed"), path);
    exchange(**session);
    BOOST_TEST(server.handlerRuns == 1);
    if (path == "hole-punched") // the relay is free again
        BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }));
}

// A dialing side that sends something else than a punch plan first: the
// reserved side drops that circuit with the reason, keeps its reservation,
// and the next circuit works.
BOOST_FIXTURE_TEST_CASE(a_circuit_that_opens_with_no_punch_plan_is_dropped, RelayFixture) {
    reservedPunches = true;
    server.body = test::echoBody;
    startRelay();
    reserve();
    const auto relays = net::allowList(test::trusting({&relayPeer}, dialing));
    for (auto data : {wire::Bytes{0x16, 0x03, 0x01, 0x00, 0x05}, // a TLS record, not a message
                      wire::encodeMessage(test::hello())}) {     // a message of the wrong type
        auto circuit =
            net::connectCircuit(dialing.creds, relayEndpoint(), relays, reserved.id.publicKey(), {},
                                net::SteadyClock::now() + 5s);
        BOOST_REQUIRE_MESSAGE(circuit, (circuit ? "" : net::describe(circuit.error())));
        BOOST_REQUIRE(circuit->relay->send(wire::RelayData{.data = data}));
        // The reserved side's plan comes first, then the circuit closes.
        auto plan = circuit->relay->receive(5s);
        BOOST_REQUIRE(plan);
        BOOST_TEST((plan->type == wire::MsgType::kRelayData));
        auto closed = circuit->relay->receive(5s);
        BOOST_TEST((!closed || closed->type == wire::MsgType::kError));
    }
    BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }));
    BOOST_TEST(server.handlerRuns == 0);
    BOOST_TEST(reservation->active());
    auto session = dialThrough(dialing);
    BOOST_REQUIRE_MESSAGE(session, (session ? "" : net::describe(session.error())));
    exchange(**session);
}

// One end will not punch: both stay on the circuit.
BOOST_FIXTURE_TEST_CASE(a_circuit_stays_when_one_end_does_not_punch, RelayFixture) {
    dialingPunches = true;
    server.body = test::echoBody;
    startRelay();
    reserve();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE_MESSAGE(session, (session ? "" : net::describe(session.error())));
    BOOST_TEST(net::sessionPath((*session)->peerAddress()) == "relayed");
    exchange(**session);
    BOOST_TEST(relay->stats().circuits == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_relay_serves_only_its_allow_list, RelayFixture) {
    startRelay();
    reserve();
    Peer stranger = Peer::make();
    // Not on the relay's list: the handshake fails, no circuit.
    auto session = dialer(stranger).dial(
        relayEndpoint(),
        net::allowListAndKey(test::trusting({&reserved}, stranger), reserved.id.publicKey()),
        test::hello());
    BOOST_TEST(!session.has_value());
    // A reservation from a stranger is refused the same way.
    net::RelayReservation theirs(stranger.creds, relayEndpoint(),
                                 net::allowList(test::trusting({&relayPeer}, stranger)),
                                 net::allowList(wire::TrustList{}),
                                 [](base::UniqueFd, std::string, std::shared_ptr<void>) {});
    BOOST_TEST(test::waitUntil([&] {
                   return theirs.state().find("refused us") != std::string::npos ||
                          theirs.state().find("did not reserve") != std::string::npos;
               }),
               theirs.state());
    BOOST_TEST(!theirs.active());
    BOOST_TEST(relay->stats().reservations == 1u);
    BOOST_TEST(relay->stats().circuitsOpened == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_circuit_to_a_peer_without_a_reservation_is_refused, RelayFixture) {
    startRelay();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(!session.has_value());
    BOOST_TEST(session.error().code == net::Error::Code::kRefused);
    BOOST_TEST(session.error().what.find("no reservation for") != std::string::npos,
               session.error().what);
}

BOOST_FIXTURE_TEST_CASE(a_circuit_the_reserved_peer_does_not_take_times_out, RelayFixture) {
    startRelay();
    reserve(net::allowList(wire::TrustList{})); // takes circuits from nobody
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(!session.has_value());
    BOOST_TEST(session.error().what.find("did not take the circuit") != std::string::npos,
               session.error().what);
    BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }));
}

BOOST_FIXTURE_TEST_CASE(malformed_requests_get_a_reason_and_the_relay_keeps_serving, RelayFixture) {
    server.body = test::echoBody;
    startRelay();
    reserve();
    const auto relayOnly = net::allowList(test::trusting({&relayPeer}, dialing));
    net::Dialer plain(dialing.creds);
    auto expectRefusal = [&](auto send, const std::string& words) {
        auto s = plain.connect({"127.0.0.1", relay->port()}, relayOnly);
        BOOST_REQUIRE(s);
        send(**s);
        auto raw = (*s)->receive(5s);
        BOOST_REQUIRE_MESSAGE(raw, "no reason given for: " << words);
        auto err = (*s)->bodyOrBreak<wire::ErrorMsg>(*raw);
        BOOST_REQUIRE(err);
        BOOST_TEST(err->message.find(words) != std::string::npos, err->message);
    };
    expectRefusal([](net::Session& s) { (void)s.send(test::hello()); },
                  "expected relay-reserve, relay-connect or relay-accept, got hello");
    expectRefusal([](net::Session& s) { (void)s.send(wire::RelayConnect{.target = "sw1nope"}); },
                  "relay-connect.target");
    wire::RelayAccept unknown;
    unknown.circuit.fill(1);
    expectRefusal([&](net::Session& s) { (void)s.send(unknown); }, "no such circuit");
    // Bytes that are no message: the relay logs why and hangs up.
    auto junk = plain.connect({"127.0.0.1", relay->port()}, relayOnly);
    BOOST_REQUIRE(junk);
    const std::uint8_t bytes[] = {0, 0, 0, 3, 0xc1, 0xc1, 0xc1};
    BOOST_REQUIRE((*junk)->writeRaw(bytes));
    BOOST_TEST(!(*junk)->receive(5s).has_value());
    BOOST_TEST(relay->stats().refused == 4u);
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(session);
    exchange(**session);
}

BOOST_FIXTURE_TEST_CASE(big_messages_pass_whole, RelayFixture) {
    server.body = [](net::Session& s, const wire::Hello&) {
        for (;;) {
            auto chunk = s.receiveAs<wire::BlobChunk>(10s);
            const bool whole = chunk && std::all_of(chunk->data.begin(), chunk->data.end(),
                                                    [](std::uint8_t b) { return b == 0x5a; });
            if (!chunk || !s.send(test::progress(whole ? chunk->data.size() / 1024 : 0)))
                return;
        }
    };
    startRelay();
    reserve();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(session);
    for (std::size_t kib : {1u, 64u, 256u, 1000u}) {
        wire::BlobChunk chunk;
        chunk.digest.fill(1);
        chunk.total = kib * 1024;
        chunk.data.assign(kib * 1024, 0x5a);
        BOOST_REQUIRE((*session)->send(chunk));
        auto reply = (*session)->receiveAs<wire::Progress>(10s);
        BOOST_REQUIRE(reply);
        BOOST_TEST(reply->replica == kib);
    }
}

BOOST_FIXTURE_TEST_CASE(a_circuit_over_its_byte_limit_is_closed_with_the_reason, RelayFixture) {
    limits.circuitBytes = 256 * 1024;
    server.body = test::echoBody;
    startRelay();
    reserve();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(session);
    exchange(**session);
    wire::BlobChunk big;
    big.digest.fill(1);
    big.total = 1 << 20;
    big.data.assign(512 * 1024, 0x5a);
    (void)(*session)->send(big);
    auto after = (*session)->receive(5s);
    BOOST_TEST(!after.has_value());
    BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }));
    // The relay serves the next circuit.
    auto again = dialThrough(dialing);
    BOOST_REQUIRE(again);
    exchange(**again);
}

BOOST_FIXTURE_TEST_CASE(a_stalled_circuit_is_closed_and_the_relay_keeps_serving, RelayFixture) {
    limits.session.write = 1s;
    std::atomic<bool> stall{true};
    server.body = [&](net::Session& s, const wire::Hello& h) {
        while (stall) // reads nothing: the circuit backs up to the relay
            std::this_thread::sleep_for(20ms);
        test::echoBody(s, h);
    };
    startRelay();
    reserve();
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(session);
    wire::BlobChunk big;
    big.digest.fill(1);
    big.total = 64ull << 20;
    big.data.assign(256 * 1024, 0x5a);
    for (int i = 0; i < 256 && (*session)->send(big); ++i) {
    }
    BOOST_TEST(test::waitUntil([&] { return relay->stats().circuits == 0; }, 20s));
    stall = false;
    auto again = dialThrough(dialing);
    BOOST_REQUIRE(again);
    exchange(**again);
}

BOOST_FIXTURE_TEST_CASE(one_peer_holds_at_most_its_share_of_circuits, RelayFixture) {
    limits.circuits = 8; // a quarter each: 2
    server.body = test::echoBody;
    startRelay();
    reserve();
    auto first = dialThrough(dialing);
    auto second = dialThrough(dialing);
    BOOST_REQUIRE(first && second);
    auto third = dialThrough(dialing);
    BOOST_REQUIRE(!third.has_value());
    BOOST_TEST(third.error().what.find("limit of 2 circuits per peer") != std::string::npos,
               third.error().what);
    exchange(**first);
    first->reset(); // its circuit closes: room for another
    BOOST_REQUIRE(test::waitUntil([&] { return relay->stats().circuits == 1; }));
    auto again = dialThrough(dialing);
    BOOST_REQUIRE(again);
    exchange(**again);
}

BOOST_FIXTURE_TEST_CASE(a_reservation_comes_back_after_the_relay_restarts, RelayFixture) {
    server.body = test::echoBody;
    startRelay();
    const std::uint16_t port = relay->port();
    reserve();
    relay.reset();
    BOOST_TEST(test::waitUntil([&] { return !reservation->active(); }));
    startRelay(port);
    BOOST_TEST(test::waitUntil([&] { return reservation->active(); }));
    auto session = dialThrough(dialing);
    BOOST_REQUIRE(session);
    exchange(**session);
}

BOOST_AUTO_TEST_SUITE_END()

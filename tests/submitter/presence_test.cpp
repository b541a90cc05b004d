// Which relays a submitter reserves on (relayCandidates) and when its
// first offers may go out (OfferGate).

#include "submitter/presence.hpp"

#include "wire/peer_id.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;
using namespace swarm::submitter;

namespace {

dht::WorkerEntry peerWith(std::vector<std::string> relays, std::string reach) {
    dht::WorkerEntry e;
    e.id = wire::PeerId(wire::Identity::generate().publicKey());
    e.record.relays = std::move(relays);
    e.record.reach = std::move(reach);
    return e;
}

} // namespace

BOOST_AUTO_TEST_SUITE(relay_candidates)

BOOST_AUTO_TEST_CASE(behind_nat_the_relays_of_reachable_peers_follow_relay_via) {
    dht::DiscoverySnapshot seen;
    seen.workers = {peerWith({"203.0.113.3:7400"}, "public"),
                    peerWith({"192.0.2.10:7400"}, std::string(wire::kReachBehindNat)),
                    peerWith({"203.0.113.2:7400"}, ""), peerWith({}, "public")};
    const std::string via = "relay:" + seen.workers[3].id.str() + "@198.51.100.9:7400";
    auto got = relayCandidates({via}, net::Reach::kBehindNat, seen);
    BOOST_REQUIRE(got.size() == 3u);
    BOOST_TEST(got[0].str() == via);
    BOOST_TEST(got[1].host == "203.0.113.3");
    BOOST_TEST(got[1].relay == seen.workers[0].id.str());
    // A peer behind NAT announces a relay nobody outside can reach: skipped.
    BOOST_TEST(got[2].host == "203.0.113.2");
}

BOOST_AUTO_TEST_CASE(a_reachable_submitter_uses_only_relay_via) {
    dht::DiscoverySnapshot seen;
    seen.workers = {peerWith({"203.0.113.3:7400"}, "public")};
    BOOST_TEST(relayCandidates({}, net::Reach::kPublic, seen).empty());
    BOOST_TEST(relayCandidates({}, net::Reach::kUnknown, seen).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(offer_gate)

BOOST_AUTO_TEST_CASE(offers_wait_behind_nat_until_a_relay_is_granted) {
    EndpointSources where{.listenHost = "",
                          .port = 7000,
                          .advertise = {},
                          .interfaces = {{"192.0.2.10", false, false}},
                          .publicHosts = {"203.0.113.11"},
                          .localSwarm = false};
    OfferGate gate;
    BOOST_TEST(!gate.open(where)); // behind NAT, no IPv6, no relay yet
    where.relayed = {"relay:sw1x@203.0.113.3:7400"};
    BOOST_TEST(gate.open(where));
    gate.since -= std::chrono::seconds(16);
    where.relayed.clear();
    BOOST_TEST(gate.open(where)); // waited long enough: what there is
}

BOOST_AUTO_TEST_CASE(a_public_host_offers_at_once) {
    EndpointSources where{.listenHost = "",
                          .port = 7000,
                          .advertise = {},
                          .interfaces = {{"203.0.113.3", false, false}},
                          .publicHosts = {"203.0.113.3"},
                          .localSwarm = false};
    BOOST_TEST(OfferGate{}.open(where));
}

BOOST_AUTO_TEST_SUITE_END()

#include "worker/offer_queue.hpp"

#include "wire/identity.hpp"

#include <boost/test/unit_test.hpp>

#include <map>

using namespace swarm;
using namespace swarm::worker;

namespace {

dht::ReceivedOffer offerFrom(const wire::PeerId& submitter, std::int64_t issuedAtMs,
                             std::string endpoint) {
    dht::ReceivedOffer o;
    o.submitter = submitter;
    o.issuedAtMs = issuedAtMs;
    o.expiresAtMs = issuedAtMs + 60'000;
    o.offer.endpoints = {std::move(endpoint)};
    return o;
}

wire::PeerId newPeer() {
    return wire::PeerId(wire::Identity::generate().publicKey());
}

} // namespace

BOOST_AUTO_TEST_SUITE(offer_queue)

BOOST_AUTO_TEST_CASE(a_restarted_submitters_newest_offer_wins) {
    // At start the DHT hands the worker offers an earlier run of it already
    // used next to the submitter's fresh one, oldest first: only the fresh
    // one is dialed, whatever the order they came in.
    auto a = newPeer();
    auto b = newPeer();
    OfferQueue q;
    q.push(offerFrom(a, 1000, "127.0.0.9:1"));
    q.push(offerFrom(b, 1500, "127.0.0.9:7"));
    q.push(offerFrom(a, 3000, "127.0.0.9:3"));
    q.push(offerFrom(a, 2000, "127.0.0.9:2"));
    BOOST_TEST(q.size() == 2u);
    auto ready =
        q.take([](const dht::ReceivedOffer&) { return OfferQueue::LinkState::kNone; }, 4000);
    BOOST_REQUIRE(ready.size() == 2u);
    BOOST_TEST((ready[0].submitter == a));
    BOOST_TEST(ready[0].offer.endpoints.at(0) == "127.0.0.9:3");
    BOOST_TEST((ready[1].submitter == b));
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(an_offer_waits_while_its_submitter_is_dialed) {
    // Dropping it would leave the worker idle until the submitter offers
    // again, should the attempt in progress fail (a stale endpoint).
    auto a = newPeer();
    auto b = newPeer();
    std::map<wire::PeerId, OfferQueue::LinkState> links{{a, OfferQueue::LinkState::kDialing},
                                                        {b, OfferQueue::LinkState::kConnected}};
    auto linkOf = [&](const dht::ReceivedOffer& o) {
        auto it = links.find(o.submitter);
        return it == links.end() ? OfferQueue::LinkState::kNone : it->second;
    };
    OfferQueue q;
    q.push(offerFrom(a, 1000, "127.0.0.9:1"));
    q.push(offerFrom(b, 1000, "127.0.0.9:2"));
    BOOST_TEST(q.take(linkOf, 2000).empty());
    BOOST_TEST(q.size() == 1u); // a's waits; b's is dropped: already working for b
    links.erase(a);             // the attempt failed
    auto ready = q.take(linkOf, 3000);
    BOOST_REQUIRE(ready.size() == 1u);
    BOOST_TEST((ready[0].submitter == a));
}

BOOST_AUTO_TEST_CASE(expired_offers_are_dropped) {
    auto a = newPeer();
    OfferQueue q;
    q.push(offerFrom(a, 1000, "127.0.0.9:1"));
    BOOST_TEST(
        q.take([](const dht::ReceivedOffer&) { return OfferQueue::LinkState::kDialing; }, 61'000)
            .empty());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_SUITE_END()

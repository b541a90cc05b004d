#include "submitter/endpoints.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;
using namespace swarm::submitter;
using Strings = std::vector<std::string>;

namespace {
EndpointSources everyInterface() {
    EndpointSources s;
    s.port = 7000;
    s.interfaces = {{"2001:db8::5", true, false},
                    {"::1", true, true},
                    {"127.0.0.1", false, true},
                    {"192.0.2.5", false, false}};
    s.publicHosts = {"203.0.113.9", "192.0.2.5"};
    return s;
}
} // namespace

BOOST_AUTO_TEST_SUITE(endpoints)

BOOST_AUTO_TEST_CASE(every_interface_offers_ipv6_then_the_public_address_then_ipv4) {
    auto got = offerEndpoints(everyInterface());
    BOOST_TEST(got == (Strings{"[2001:db8::5]:7000", "203.0.113.9:7000", "192.0.2.5:7000"}));
    auto v4 = everyInterface();
    v4.listenHost = "0.0.0.0"; // bound to IPv4 only: no IPv6 endpoint
    BOOST_TEST(offerEndpoints(v4) == (Strings{"203.0.113.9:7000", "192.0.2.5:7000"}));
}

BOOST_AUTO_TEST_CASE(a_local_swarm_offers_loopback_first) {
    auto s = everyInterface();
    s.localSwarm = true;
    auto got = offerEndpoints(s);
    BOOST_TEST(got == (Strings{"[::1]:7000", "127.0.0.1:7000", "[2001:db8::5]:7000",
                               "203.0.113.9:7000", "192.0.2.5:7000"}));
}

BOOST_AUTO_TEST_CASE(advertised_endpoints_come_first_and_one_listen_address_alone) {
    auto s = everyInterface();
    s.advertise = {"203.0.113.1:443"};
    BOOST_TEST(offerEndpoints(s).front() == "203.0.113.1:443");
    s.listenHost = "192.0.2.5";
    BOOST_TEST(offerEndpoints(s) == (Strings{"203.0.113.1:443"}));
    s.advertise.clear();
    BOOST_TEST(offerEndpoints(s) == (Strings{"192.0.2.5:7000"}));
}

BOOST_AUTO_TEST_CASE(no_more_than_the_judge_allows) {
    EndpointSources s;
    s.port = 1;
    for (int i = 0; i < 40; ++i)
        s.interfaces.push_back({"192.0.2." + std::to_string(i), false, false});
    BOOST_TEST(offerEndpoints(s).size() == 16u);
}

BOOST_AUTO_TEST_CASE(reachability_is_what_the_dht_sees_against_the_interfaces) {
    auto s = everyInterface();
    BOOST_TEST(reachability(s)->starts_with("reachable at 192.0.2.5"));
    s.publicHosts = {"203.0.113.9"};
    BOOST_TEST(reachability(s)->starts_with("behind NAT: the DHT sees this host at 203.0.113.9"));
    s.publicHosts.clear();
    BOOST_TEST(!reachability(s).has_value()); // not known yet
    s.publicHosts = {"203.0.113.9"};
    s.localSwarm = true;
    BOOST_TEST(!reachability(s).has_value());
}

BOOST_AUTO_TEST_CASE(a_swarm_is_local_when_every_bootstrap_node_is_on_loopback) {
    BOOST_TEST(isLocalSwarm({{"127.0.0.1", 4222}, {"::1", 4223}}));
    BOOST_TEST(!isLocalSwarm({{"127.0.0.1", 4222}, {"203.0.113.2", 4222}}));
    BOOST_TEST(!isLocalSwarm({}));
}

BOOST_AUTO_TEST_SUITE_END()

#include "net/reachability.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::net;
using Strings = std::vector<std::string>;

namespace {
const std::vector<LocalAddress> kInterfaces = {{"2001:db8::5", true, false},
                                               {"::1", true, true},
                                               {"127.0.0.1", false, true},
                                               {"192.0.2.5", false, false}};
} // namespace

BOOST_AUTO_TEST_SUITE(reachability_from_the_dht)

BOOST_AUTO_TEST_CASE(public_when_the_dht_sees_an_address_of_ours) {
    auto r = reachability({"203.0.113.9", "192.0.2.5"}, kInterfaces, false);
    BOOST_TEST((r.reach == Reach::kPublic));
    BOOST_TEST(r.host == "192.0.2.5");
    BOOST_TEST(reachWord(r.reach) == "public");
    BOOST_TEST(describe(r) ==
               "reachable at 192.0.2.5 (the DHT sees this host at an address of its own)");
    r = reachability({"2001:db8::5"}, kInterfaces, false);
    BOOST_TEST(describe(r).starts_with("reachable at 2001:db8::5 "));
}

BOOST_AUTO_TEST_CASE(behind_nat_when_it_sees_us_elsewhere) {
    auto r = reachability({"198.51.100.7", "203.0.113.9"}, kInterfaces, false);
    BOOST_TEST((r.reach == Reach::kBehindNat));
    BOOST_TEST(r.host == "198.51.100.7"); // the first it saw
    BOOST_TEST(reachWord(r.reach) == "behind-nat");
    BOOST_TEST(describe(r) == "behind NAT: the DHT sees this host at 198.51.100.7, an address of "
                              "none of its interfaces");
    // No interface could be read: nothing of ours matches.
    BOOST_TEST((reachability({"192.0.2.5"}, {}, false).reach == Reach::kBehindNat));
}

BOOST_AUTO_TEST_CASE(unknown_until_the_dht_tells_or_in_a_local_swarm) {
    auto none = reachability({}, kInterfaces, false);
    BOOST_TEST((none.reach == Reach::kUnknown));
    BOOST_TEST(none.host.empty());
    BOOST_TEST(reachWord(none.reach).empty());
    BOOST_TEST(describe(none).empty());
    // Every peer on this host: the DHT sees loopback, which tells nothing.
    BOOST_TEST((reachability({"127.0.0.1"}, kInterfaces, true).reach == Reach::kUnknown));
    BOOST_TEST((reachability({"198.51.100.7"}, kInterfaces, true).reach == Reach::kUnknown));
}

BOOST_AUTO_TEST_CASE(a_relay_behind_nat_is_warned_of) {
    const Strings relays = {"192.0.2.5:7400", "[2001:db8::5]:7400"};
    auto nat = reachability({"198.51.100.7"}, kInterfaces, false);
    BOOST_TEST(relayWarning(nat, relays, "sw1abc") ==
               "this host relays at 192.0.2.5:7400 but is behind NAT: peers outside its network "
               "cannot reach the relay unless the router forwards TCP port 7400 to it, and then "
               "only if they name it with --relay-via relay:sw1abc@198.51.100.7:7400");
    BOOST_TEST(relayWarning(nat, {}, "sw1abc").empty()); // not a relay
    auto open = reachability({"192.0.2.5"}, kInterfaces, false);
    BOOST_TEST(relayWarning(open, relays, "sw1abc").empty());
    BOOST_TEST(relayWarning(Reachability{}, relays, "sw1abc").empty());
}

BOOST_AUTO_TEST_CASE(a_swarm_is_local_when_every_bootstrap_host_is_loopback) {
    BOOST_TEST(isLocalSwarm({"127.0.0.1", "::1", "localhost"}));
    BOOST_TEST(!isLocalSwarm({"127.0.0.1", "203.0.113.2"}));
    BOOST_TEST(!isLocalSwarm({}));
}

BOOST_AUTO_TEST_SUITE_END()

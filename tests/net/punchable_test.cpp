// Which addresses an end of a circuit punches toward (net::punchable): a
// relay's word decides where the SYNs go, so only to a peer in the scope
// and family our own observed address is in.

#include "net/hole_punch.hpp"

#include <boost/test/unit_test.hpp>

using swarm::net::punchable;

BOOST_AUTO_TEST_SUITE(punchable_addresses)

BOOST_AUTO_TEST_CASE(a_peer_in_our_scope_and_family_behind_a_port_keeping_nat) {
    BOOST_TEST(punchable("203.0.113.11:40000", "203.0.113.12:5000", 40000));
    BOOST_TEST(punchable("[2001:db8::1]:40000", "[2001:db8::2]:5000", 40000));
    BOOST_TEST(punchable("192.168.1.5:40000", "10.0.0.7:5000", 40000)); // both private
    BOOST_TEST(punchable("127.0.0.1:40000", "127.0.0.1:5000", 40000));  // both loopback
}

BOOST_AUTO_TEST_CASE(not_when_our_nat_changed_our_port) {
    BOOST_TEST(!punchable("203.0.113.11:61234", "203.0.113.12:5000", 40000));
}

BOOST_AUTO_TEST_CASE(not_toward_our_own_loopback_or_lan_from_the_internet) {
    BOOST_TEST(!punchable("203.0.113.11:40000", "127.0.0.1:6379", 40000));
    BOOST_TEST(!punchable("203.0.113.11:40000", "192.168.1.1:80", 40000));
    BOOST_TEST(!punchable("203.0.113.11:40000", "10.1.2.3:22", 40000));
    BOOST_TEST(!punchable("203.0.113.11:40000", "100.64.0.1:22", 40000));
    BOOST_TEST(!punchable("[2001:db8::1]:40000", "[::1]:22", 40000));
    BOOST_TEST(!punchable("[2001:db8::1]:40000", "[fd00::1]:22", 40000));
}

BOOST_AUTO_TEST_CASE(never_toward_addresses_no_peer_has) {
    for (const char* peer :
         {"0.0.0.0:80", "224.0.0.1:80", "255.255.255.255:80", "169.254.1.1:80", "[fe80::1]:80",
          "[ff02::1]:80", "[::]:80", "[::ffff:203.0.113.12]:80", "face.cafe:443", ""})
        BOOST_TEST(!punchable("203.0.113.11:40000", peer, 40000), peer);
}

BOOST_AUTO_TEST_CASE(not_across_families_nor_to_ourselves) {
    BOOST_TEST(!punchable("203.0.113.11:40000", "[2001:db8::2]:5000", 40000));
    BOOST_TEST(!punchable("[2001:db8::1]:40000", "203.0.113.12:5000", 40000));
    BOOST_TEST(!punchable("203.0.113.11:40000", "203.0.113.11:40000", 40000));
}

BOOST_AUTO_TEST_SUITE_END()

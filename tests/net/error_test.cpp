#include "base/error_kind.hpp"
#include "net/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;

BOOST_AUTO_TEST_SUITE(net_error_kinds)

BOOST_AUTO_TEST_CASE(a_lost_path_is_transient_a_refused_peer_or_payload_permanent) {
    using C = net::Error::Code;
    for (auto c : {C::kTimeout, C::kClosed, C::kTruncated, C::kRefused, C::kTls, C::kIo}) {
        BOOST_TEST(net::isTransient(net::Error(c, "x")), net::codeName(c));
        BOOST_TEST((net::make_error_code(c) == base::ErrorKind::kTransient));
    }
    for (auto c : {C::kUntrusted, C::kTooLarge, C::kProtocol, C::kCorrupt, C::kNotFound}) {
        BOOST_TEST(!net::isTransient(net::Error(c, "x")), net::codeName(c));
        BOOST_TEST((net::make_error_code(c) == base::ErrorKind::kPermanent));
    }
    BOOST_TEST(net::make_error_code(C::kTimeout).message() == "timeout");
    BOOST_TEST(std::string(net::netCategory().name()) == "net");
}

BOOST_AUTO_TEST_SUITE_END()

#include "wire/bytes.hpp"
#include "wire/peer_id.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::wire;

BOOST_AUTO_TEST_SUITE(peer_id)

BOOST_AUTO_TEST_CASE(format_parse_round_trip) {
    for (int i = 0; i < 50; ++i) {
        auto id = PeerId(Identity::generate().publicKey());
        auto text = id.str();
        BOOST_TEST(text.size() == PeerId::kLength);
        BOOST_TEST(text.starts_with("sw1"));
        auto parsed = PeerId::parse(text);
        BOOST_REQUIRE(parsed);
        BOOST_TEST((*parsed == id));
    }
}

BOOST_AUTO_TEST_CASE(known_vector) {
    PublicKey zero;
    BOOST_TEST(PeerId(zero).str() == "sw1" + std::string(52, 'a'));
    PublicKey ff;
    ff.bytes.fill(0xff);
    // 256 one-bits: 51 full characters of '7' then one bit padded with zeros.
    BOOST_TEST(PeerId(ff).str() == "sw1" + std::string(51, '7') + "q");
}

BOOST_AUTO_TEST_CASE(rejects_with_reason) {
    auto good = PeerId(Identity::generate().publicKey()).str();
    auto reason = [](std::string_view text) {
        auto r = PeerId::parse(text);
        BOOST_REQUIRE(!r);
        BOOST_TEST((r.error().code == Error::Code::kBadId));
        return r.error().what;
    };
    BOOST_TEST(reason("xx1" + good.substr(3)).find("start with") != std::string::npos);
    BOOST_TEST(reason(good.substr(0, 54)).find("55 characters") != std::string::npos);
    BOOST_TEST(reason(good + "a").find("55 characters") != std::string::npos);
    BOOST_TEST(reason("").find("start with") != std::string::npos);
    std::string upper = good;
    upper[10] = 'A';
    BOOST_TEST(reason(upper).find("alphabet") != std::string::npos);
    std::string digit = good;
    digit[10] = '1';
    BOOST_TEST(reason(digit).find("alphabet") != std::string::npos);
    std::string nonCanonical = good;
    nonCanonical.back() = 'b'; // sets a padding bit
    BOOST_TEST(reason(nonCanonical).find("canonical") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(base32_and_hex_helpers) {
    Bytes data{'f', 'o', 'o', 'b', 'a', 'r'};
    BOOST_TEST(toBase32(data) == "mzxw6ytboi");
    BOOST_TEST((*fromBase32("mzxw6ytboi") == data));
    BOOST_TEST(!fromBase32("mzxw6ytboj")); // non-zero trailing bits
    BOOST_TEST(toHex(data) == "666f6f626172");
    BOOST_TEST((*fromHex("666F6f626172") == data));
    BOOST_TEST(!fromHex("abc"));
    BOOST_TEST(!fromHex("zz"));
}

BOOST_AUTO_TEST_SUITE_END()

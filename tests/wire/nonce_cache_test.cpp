#include "wire/nonce_cache.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::wire;

BOOST_AUTO_TEST_SUITE(nonce_cache)

BOOST_AUTO_TEST_CASE(remembers_until_expiry) {
    NonceCache cache;
    PublicKey key;
    Nonce n{1};
    BOOST_TEST(cache.insert(key, n, 1000, 0));
    BOOST_TEST(!cache.insert(key, n, 1000, 500));
    PublicKey other;
    other.bytes[0] = 1;
    BOOST_TEST(cache.insert(other, n, 1000, 500)); // per signer
    BOOST_TEST(cache.insert(key, n, 3000, 1001));  // expired entry forgotten
}

BOOST_AUTO_TEST_CASE(bounded_by_capacity) {
    NonceCache cache(3);
    PublicKey key;
    for (std::uint8_t i = 0; i < 10; ++i)
        BOOST_TEST(cache.insert(key, Nonce{i}, 1000 + i, 0));
    BOOST_TEST(cache.size() == 3u);
    BOOST_TEST(!cache.insert(key, Nonce{9}, 1009, 0)); // newest are kept
}

BOOST_AUTO_TEST_SUITE_END()

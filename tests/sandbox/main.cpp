#define BOOST_TEST_MODULE sandbox
#include <boost/test/unit_test.hpp>

#include <sodium.h>

struct SodiumInit {
    SodiumInit() { BOOST_REQUIRE(sodium_init() >= 0); }
};
BOOST_TEST_GLOBAL_FIXTURE(SodiumInit);

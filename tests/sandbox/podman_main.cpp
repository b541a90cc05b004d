#define BOOST_TEST_MODULE sandbox_podman
#include <boost/test/unit_test.hpp>

#include "sandbox/podman_client.hpp"

#include <sodium.h>

struct ProcessInit {
    ProcessInit() { BOOST_REQUIRE(sodium_init() >= 0); }
    swarm::sandbox::CurlGlobal curl;
};
BOOST_TEST_GLOBAL_FIXTURE(ProcessInit);

#define BOOST_TEST_MODULE relay
#include <boost/test/unit_test.hpp>

#include "net/credentials.hpp"
#include "wire/log.hpp"

#include <cstdlib>
#include <sodium.h>

struct RelayInit {
    RelayInit() {
        BOOST_REQUIRE(sodium_init() >= 0);
        const char* level = std::getenv("SWARM_LOG");
        auto parsed = swarm::wire::parseLogLevel(level != nullptr ? level : "warn");
        swarm::wire::setLogLevel(parsed.value_or(swarm::wire::LogLevel::kWarn));
    }
    swarm::net::TlsLibrary tls;
};
BOOST_TEST_GLOBAL_FIXTURE(RelayInit);

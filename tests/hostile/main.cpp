#define BOOST_TEST_MODULE hostile
#include <boost/test/unit_test.hpp>

#include "e2e/swarm_fixture.hpp"
#include "hostile/hostile_peers.hpp"
#include "net/credentials.hpp"
#include "wire/log.hpp"

#include <cstdlib>
#include <memory>
#include <sodium.h>

namespace {

// One swarm for the whole suite: the Podman service is the slow part.
std::unique_ptr<swarm::e2e::Swarm> gSwarm;

struct HostileInit {
    HostileInit() {
        BOOST_REQUIRE(sodium_init() >= 0);
        const char* level = std::getenv("SWARM_LOG");
        auto parsed = swarm::wire::parseLogLevel(level != nullptr ? level : "warn");
        swarm::wire::setLogLevel(parsed.value_or(swarm::wire::LogLevel::kWarn));
    }
    ~HostileInit() { gSwarm.reset(); }
    swarm::net::TlsLibrary tls;
};
BOOST_TEST_GLOBAL_FIXTURE(HostileInit);

} // namespace

swarm::e2e::Swarm& swarm::hostile::theSwarm() {
    if (!gSwarm)
        gSwarm = std::make_unique<e2e::Swarm>();
    return *gSwarm;
}

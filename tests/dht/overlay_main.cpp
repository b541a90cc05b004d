// The integration test executable. Besides running the Boost.Test suite it
// doubles as the peer process the cross-process test spawns:
//   test_dht_overlay --dht-peer worker --bind A --bootstrap H:P --seed N --cores C
//   test_dht_overlay --dht-peer find --bind A --bootstrap H:P --trust-seed N --timeout-ms T
#define BOOST_TEST_MODULE dht_overlay
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include "dht/announcer.hpp"
#include "dht/discovery.hpp"
#include "dht/node.hpp"
#include "test_support.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"

#include <sodium.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace {

using namespace swarm;
using namespace swarm::dht;

int runPeer(int argc, char** argv) {
    std::map<std::string, std::string> opt;
    std::string mode = argc > 2 ? argv[2] : "";
    for (int i = 3; i + 1 < argc; i += 2)
        opt[argv[i]] = argv[i + 1];
    // Block SIGTERM before any thread starts so that sigwait() receives it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    NodeConfig cfg;
    cfg.bindAddress = opt["--bind"];
    auto boot = parseHostPort(opt["--bootstrap"]);
    if (!boot) {
        std::fprintf(stderr, "%s\n", boot.error().what.c_str());
        return 2;
    }
    cfg.bootstrap = {*boot};
    wire::SystemClock clock;
    Node node(cfg);

    if (mode == "worker") {
        auto id = test::identityN(static_cast<std::uint8_t>(std::stoi(opt["--seed"])));
        Announcer announcer(node, id, clock);
        auto rec = test::sampleRecord(static_cast<std::uint32_t>(std::stoi(opt["--cores"])));
        if (auto r = announcer.announce(rec); !r) {
            std::fprintf(stderr, "%s\n", r.error().what.c_str());
            return 1;
        }
        std::printf("READY %s\n", test::idOf(id).c_str());
        std::fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        bool ok = announcer.withdraw();
        std::printf("WITHDRAWN %d\n", ok ? 1 : 0);
        std::fflush(stdout);
        node.shutdown();
        return 0;
    }
    if (mode == "find") {
        auto trusted = test::identityN(static_cast<std::uint8_t>(std::stoi(opt["--trust-seed"])));
        Discovery discovery(node, test::trustOf({&trusted}), clock);
        discovery.start();
        auto timeout = std::chrono::milliseconds(std::stoll(opt["--timeout-ms"]));
        bool found = discovery.waitUntil([](const auto& s) { return !s.workers.empty(); }, timeout);
        auto snap = discovery.snapshot();
        if (!found) {
            std::printf("NOTFOUND\n");
            return 1;
        }
        const auto& w = snap.workers.front();
        std::printf("FOUND %s %u\n", w.id.str().c_str(), w.record.cores);
        std::fflush(stdout);
        return 0;
    }
    std::fprintf(stderr, "unknown peer mode '%s'\n", mode.c_str());
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0)
        return 1;
    // SWARM_LOG=debug|info|... shows our and OpenDHT's logs when debugging.
    if (const char* level = std::getenv("SWARM_LOG"))
        if (auto parsed = swarm::wire::parseLogLevel(level))
            swarm::wire::setLogLevel(*parsed);
    if (argc > 1 && std::string_view(argv[1]) == "--dht-peer")
        return runPeer(argc, argv);
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}

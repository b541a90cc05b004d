// One peer of the network lab's discovery test (discover_test.cpp):
//
//   discover_peer announce NAME BOOT_HOST:PORT
//       A worker's side of discovery: a DHT node bootstrapped from BOOT that
//       announces a capacity record signed by NAME's key. Prints "ready"
//       once announced, runs until its stdin closes, then withdraws.
//   discover_peer find BOOT_HOST:PORT TIMEOUT_MS NAME...
//       A submitter's side: a fresh DHT node and discovery trusting the
//       NAMEs. Prints "found <n> <ms>" when all of them are listed (ms from
//       the node's start), or "missing <n> <ms>" at the timeout; exits 0.
//
// Keys are derived from the names, so the peers need no key files. Exit
// status 1: something failed ("failed <error>"); 2: bad arguments.

#include "dht/announcer.hpp"
#include "dht/discovery.hpp"
#include "dht/node.hpp"
#include "named_peer.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

using namespace swarm;
using swarm::netlab::identityOf;
using swarm::netlab::say;
using namespace std::chrono_literals;

namespace {

dht::NodeConfig nodeConfig(const std::string& boot) {
    auto at = boot.rfind(':');
    if (at == std::string::npos)
        throw std::invalid_argument("bad bootstrap '" + boot + "'");
    dht::NodeConfig config;
    config.bootstrap = {
        {boot.substr(0, at), static_cast<std::uint16_t>(std::stoi(boot.substr(at + 1)))}};
    config.swarm = "netlab";
    return config;
}

int runAnnounce(const std::string& name, const std::string& boot) {
    const auto id = identityOf(name);
    wire::SystemClock clock;
    dht::Node node(nodeConfig(boot));
    dht::Announcer::prepare(node);
    dht::Announcer announcer(node, id, clock);
    wire::CapacityRecord record;
    record.cores = 2;
    record.memoryBytes = 4ULL << 30;
    record.slots = record.freeSlots = 2;
    record.arch = "x86_64";
    record.os = "linux";
    record.software = "netlab";
    if (auto ok = announcer.announce(record); !ok) {
        say("failed announce: " + ok.error().what);
        return 1;
    }
    say("ready");
    std::string ignored;
    while (std::getline(std::cin, ignored)) {
    }
    return 0;
}

int runFind(const std::string& boot, int timeoutMs, const std::vector<std::string>& names) {
    const auto self = identityOf("finder");
    wire::TrustList trust;
    for (const auto& n : names)
        if (auto added = trust.add(wire::PeerId(identityOf(n).publicKey()), n,
                                   wire::PeerId(self.publicKey()));
            !added)
            throw std::invalid_argument(added.error().what);
    wire::SystemClock clock;
    const auto start = std::chrono::steady_clock::now();
    dht::Node node(nodeConfig(boot));
    dht::Discovery discovery(node, trust, clock);
    discovery.start();
    const bool all = discovery.waitUntil(
        [&](const dht::DiscoverySnapshot& s) { return s.workers.size() >= names.size(); },
        std::chrono::milliseconds(timeoutMs));
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    say(std::string(all ? "found " : "missing ") +
        std::to_string(all ? names.size() : names.size() - discovery.snapshot().workers.size()) +
        " " + std::to_string(ms));
    return 0;
}

} // namespace

int main(int argc, char** argv) try {
    if (sodium_init() < 0) {
        say("failed libsodium did not start");
        return 1;
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 3 && args[0] == "announce")
        return runAnnounce(args[1], args[2]);
    if (args.size() >= 4 && args[0] == "find")
        return runFind(args[1], std::stoi(args[2]), {args.begin() + 3, args.end()});
    std::fprintf(stderr,
                 "usage: discover_peer announce NAME BOOT | find BOOT TIMEOUT_MS NAME...\n");
    return 2;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "discover_peer: %s\n", e.what());
    return 2;
} catch (const std::exception& e) {
    say(std::string("failed ") + e.what());
    return 1;
}

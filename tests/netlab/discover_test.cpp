// Discovery across NAT: workers announcing from homes behind cone and
// symmetric routers are all found by a submitter that is itself behind
// NAT, as they are when every peer sits on one public host. A stock
// dhtnode on "boot" is the bootstrap; each peer is a discover_peer process
// (a real DHT node, announcer or discovery) in its lab namespace; each
// round starts a fresh finder. Prints completeness and time per case
// (docs/benchmarks.md "Discovery across NAT").
//
// SWARM_DISCOVER_ROUNDS (default 3) sets the rounds per case. Needs root,
// ip netns and nft: skipped without them, except when CI is set, where it
// fails.

#include "netlab/lab_fixture.hpp"
#include "support/child_process.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace swarm;
using namespace swarm::netlab;
using namespace std::chrono_literals;

namespace {

constexpr const char* kBoot = "203.0.113.2:4222";
constexpr int kFindTimeoutMs = 20'000;
// The rounds stop here, well within meson's 300 s for the whole test.
constexpr auto kRoundsBudget = std::chrono::seconds(180);

std::string peerBinary() {
    const char* b = std::getenv("SWARM_BUILD_ROOT");
    if (b == nullptr)
        throw std::runtime_error("SWARM_BUILD_ROOT is not set (run through meson test)");
    return std::string(b) + "/tests/netlab/discover_peer";
}

// Announcing workers, one per host given, named prefix1, prefix2, ...
struct Announcers {
    std::vector<std::unique_ptr<test::ChildProcess>> peers;
    std::vector<std::string> names;

    Announcers(const Lab& lab, const std::string& prefix, const std::vector<std::string>& hosts) {
        for (const auto& host : hosts) {
            names.push_back(prefix + std::to_string(names.size() + 1));
            peers.push_back(lab.start(host, peerBinary(), {"announce", names.back(), kBoot}));
        }
        for (std::size_t i = 0; i < peers.size(); ++i) {
            auto line = peers[i]->readLine(30s);
            BOOST_REQUIRE_MESSAGE(line && *line == "ready",
                                  names[i] << " on " << hosts[i] << ": " << line.value_or("-"));
        }
    }
    ~Announcers() {
        for (auto& p : peers)
            p->closeInput();
        for (auto& p : peers)
            if (!p->wait(10s))
                p->terminate(2s);
    }
};

struct Case {
    std::string name;
    std::string finderHost;
    std::vector<double> ms; ///< of the rounds that found all
    int rounds = 0;
};

// Rounds of a case until `rounds`, the first one that misses a worker, or
// `until`.
void runRounds(const Lab& lab, Case& c, const Announcers& workers, int rounds,
               std::chrono::steady_clock::time_point until) {
    std::vector<std::string> args = {"find", kBoot, std::to_string(kFindTimeoutMs)};
    args.insert(args.end(), workers.names.begin(), workers.names.end());
    for (int i = 0; i < rounds && std::chrono::steady_clock::now() < until; ++i) {
        auto finder = lab.start(c.finderHost, peerBinary(), args);
        auto line = finder->readLine(std::chrono::milliseconds(kFindTimeoutMs) + 20s);
        if (!finder->wait(10s))
            finder->terminate(2s);
        ++c.rounds;
        BOOST_TEST_CONTEXT(c.name << ", round " << i + 1) {
            BOOST_REQUIRE(line.has_value());
            BOOST_REQUIRE_MESSAGE(line->starts_with("found "), *line);
            c.ms.push_back(std::stod(line->substr(line->rfind(' ') + 1)));
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(workers_behind_nat_are_found_from_behind_nat,
                     *boost::unit_test::precondition(labUsable)) {
    if (auto missing = labMissing(); !missing.empty())
        BOOST_FAIL("CI is set and a network lab needs:" + missing);
    removeStaleLabs("nd");
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(peerBinary()), peerBinary() << " is missing");
    Lab lab("nd" + std::to_string(::getpid()),
            {"c1=cone:2", "c2=cone", "s1=symmetric:2", "s2=symmetric"});
    const char* r = std::getenv("SWARM_DISCOVER_ROUNDS");
    const int rounds = std::clamp(r != nullptr ? std::atoi(r) : 3, 1, 100);
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/dhtnode"),
                          "/usr/bin/dhtnode is missing");
    // Bounded even if this test is killed before `lab down` ends it.
    auto dhtnode = lab.start("boot", "/usr/bin/timeout",
                             {"-k", "5", "290", "/usr/bin/dhtnode", "-s", "-p", "4222"});
    const auto until = std::chrono::steady_clock::now() + kRoundsBudget;

    std::vector<Case> cases;
    {
        Announcers onPub(lab, "p", {"pub", "pub", "pub", "pub"});
        cases.push_back({"4 workers and the finder on one public host", "pub"});
        runRounds(lab, cases.back(), onPub, rounds, until);
    }
    Announcers homes(lab, "w", {"c1-1", "c2-1", "s1-1", "s2-1"});
    cases.push_back({"4 workers in 2 cone + 2 symmetric homes, finder behind cone NAT", "c1-2"});
    runRounds(lab, cases.back(), homes, rounds, until);
    cases.push_back({"the same, finder behind symmetric NAT", "s1-2"});
    runRounds(lab, cases.back(), homes, rounds, until);

    std::ostringstream table;
    table << std::fixed << std::setprecision(0)
          << "| case | rounds | all found | p50 ms | max ms |\n|---|---|---|---|---|\n";
    for (auto& c : cases) {
        std::sort(c.ms.begin(), c.ms.end());
        table << "| " << c.name << " | " << c.rounds << " | " << c.ms.size() << " | "
              << (c.ms.empty() ? 0 : c.ms[c.ms.size() / 2]) << " | "
              << (c.ms.empty() ? 0 : c.ms.back()) << " |\n";
    }
    std::cout << table.str() << std::flush;
    BOOST_TEST_MESSAGE(table.str());
}

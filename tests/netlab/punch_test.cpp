// TCP hole punching across the lab's NAT routers (tests/netlab/lab): for
// each pair of hosts, both run punch_peer (net::punchTcp) toward the other's
// public endpoint at the same time, a few times over. Behind a cone router
// (port-preserving masquerade, unsolicited inbound dropped) a host's public
// endpoint is its router's WAN address and its own local port; a symmetric
// router (random ports) breaks that guess, so punches through it must fail,
// by their deadline and with a clear error. Prints a table of what it saw.
// Needs root, ip netns and nft: skipped without them, except when CI is set,
// where it fails.

#include "netlab/lab_fixture.hpp"
#include "support/child_process.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace swarm;
using namespace swarm::netlab;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kDeadline = 3000ms; // each punch_peer's
constexpr milliseconds kSlack = 2000ms;    // for starting and ending a peer
constexpr std::uint16_t kFirstPort = 40000;

// Attempts per pair: 5, or $SWARM_PUNCH_ATTEMPTS (for measuring).
int attemptsPerPair() {
    const char* n = std::getenv("SWARM_PUNCH_ATTEMPTS");
    return n != nullptr && std::atoi(n) > 0 ? std::atoi(n) : 5;
}

std::string peerBinary() {
    const char* b = std::getenv("SWARM_BUILD_ROOT");
    if (b == nullptr)
        throw std::runtime_error("SWARM_BUILD_ROOT is not set (run through meson test)");
    return std::string(b) + "/tests/netlab/punch_peer";
}

struct PairSpec {
    std::string name;
    std::string a; ///< a lab host: "pub" or "<home>-1"
    std::string b;
    bool punches;         ///< whether every attempt must connect
    milliseconds skew{0}; ///< how much later b starts than a
};

// What one punch_peer printed, and how it ended.
struct SideResult {
    std::string line;
    int status = -1; ///< exit status; -1 when unknown
    bool ok() const { return line.starts_with("ok ") && status == 0; }
    int ms() const { return std::stoi(line.substr(3)); }
    std::string peer() const { return line.substr(line.rfind(' ') + 1); }
};

struct AttemptResult {
    SideResult a;
    SideResult b;
    milliseconds wall{}; ///< from starting both peers until both ended
};

// The lab's view of a pair: public endpoints and peers in namespaces.
class PunchLab {
public:
    explicit PunchLab(Lab& lab) : lab_(lab) {}

    // A host's public address: its own (pub) or its home router's WAN one.
    std::string publicAddress(const std::string& host) const {
        auto seen = public_.find(host);
        if (seen != public_.end())
            return seen->second;
        auto a =
            host == "pub" ? lab_.addr("pub") : lab_.addr(host.substr(0, host.rfind('-')) + "-gw");
        return public_[host] = a;
    }

    std::unique_ptr<test::ChildProcess> start(const std::string& host, std::uint16_t port,
                                              const std::string& remote) const {
        test::ChildOptions o;
        o.out = test::Stream::pipe();
        return std::make_unique<test::ChildProcess>(
            "/usr/bin/ip",
            std::vector<std::string>{"netns", "exec", lab_.ns(host), peerBinary(),
                                     std::to_string(port), remote,
                                     std::to_string(kDeadline.count())},
            std::move(o));
    }

private:
    Lab& lab_;
    mutable std::map<std::string, std::string> public_; // host -> public address
};

SideResult finish(test::ChildProcess& peer) {
    SideResult r;
    r.line = peer.readLine(kDeadline + kSlack)
                 .value_or("failed silent: no line within " +
                           std::to_string((kDeadline + kSlack).count()) + " ms");
    auto status = peer.wait(kSlack);
    if (!status)
        status = peer.terminate(1s);
    r.status = status.value_or(-1);
    return r;
}

AttemptResult runAttempt(const PunchLab& lab, const PairSpec& pair, std::uint16_t portA,
                         std::uint16_t portB) {
    auto toB = lab.publicAddress(pair.b) + ":" + std::to_string(portB);
    auto toA = lab.publicAddress(pair.a) + ":" + std::to_string(portA);
    auto begin = std::chrono::steady_clock::now();
    auto a = lab.start(pair.a, portA, toB);
    std::this_thread::sleep_for(pair.skew); // part of the scenario, not a wait
    auto b = lab.start(pair.b, portB, toA);
    AttemptResult r{finish(*a), finish(*b), {}};
    r.wall = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - begin);
    return r;
}

// The attempts of one pair, for the table.
struct PairTally {
    int attempts = 0;
    int successes = 0;
    /// Of each successful attempt: ms from the later side's start until both
    /// were connected.
    std::vector<int> ms;
    /// "host kind" ("c1-1 timeout") -> how often, and the first such line.
    std::map<std::string, std::pair<int, std::string>> failures;

    void add(const PairSpec& pair, const AttemptResult& r) {
        ++attempts;
        if (r.a.ok() && r.b.ok()) {
            ++successes;
            ms.push_back(std::max(r.a.ms() - static_cast<int>(pair.skew.count()), r.b.ms()));
        }
        addFailure(pair.a, r.a);
        addFailure(pair.b, r.b);
    }

    void addFailure(const std::string& host, const SideResult& side) {
        if (side.ok())
            return;
        // "failed timeout: no answer ..." -> "timeout"
        auto kind = side.line.substr(0, side.line.find(':'));
        kind = kind.substr(kind.find(' ') + 1);
        auto& [count, example] = failures[host + " " + kind];
        if (count++ == 0)
            example = side.line;
    }

    std::string p50() const {
        if (ms.empty())
            return "-";
        auto sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        return std::to_string(sorted[sorted.size() / 2]);
    }

    std::string max() const {
        return ms.empty() ? "-" : std::to_string(*std::max_element(ms.begin(), ms.end()));
    }
};

void checkAttempt(const PunchLab& lab, const PairSpec& pair, const AttemptResult& r,
                  std::uint16_t portA, std::uint16_t portB) {
    BOOST_TEST_CONTEXT(pair.name << ": " << r.a.line << " | " << r.b.line) {
        BOOST_TEST(r.wall.count() < (kDeadline + kSlack + pair.skew).count());
        if (pair.punches) {
            BOOST_TEST(r.a.ok());
            BOOST_TEST(r.b.ok());
            // Each side sees the other at its public endpoint: a direct path.
            if (r.a.ok() && r.b.ok()) {
                BOOST_TEST(r.a.peer() == lab.publicAddress(pair.b) + ":" + std::to_string(portB));
                BOOST_TEST(r.b.peer() == lab.publicAddress(pair.a) + ":" + std::to_string(portA));
            }
            return;
        }
        for (const auto* side : {&r.a, &r.b}) {
            BOOST_TEST(side->status == 1);
            BOOST_TEST((side->line.starts_with("failed timeout: no answer from ") ||
                        side->line.starts_with("failed refused: ")));
        }
    }
}

void printTable(const std::vector<PairSpec>& pairs, const std::vector<PairTally>& tallies) {
    std::ostringstream out;
    out << "| pair | attempts | successes | p50 ms | max ms | failures (count, first) |\n"
        << "|---|---|---|---|---|---|\n";
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& t = tallies[i];
        out << "| " << pairs[i].name << " | " << t.attempts << " | " << t.successes << " | "
            << t.p50() << " | " << t.max() << " | ";
        for (const auto& [key, f] : t.failures)
            out << key << " x" << f.first << ": " << f.second.substr(7) << "<br>";
        out << "|\n";
    }
    std::cout << out.str() << std::flush;
    BOOST_TEST_MESSAGE(out.str());
}

} // namespace

BOOST_AUTO_TEST_CASE(punches_through_cone_nat_and_fails_clearly_through_symmetric,
                     *boost::unit_test::precondition(labUsable)) {
    if (auto missing = labMissing(); !missing.empty())
        BOOST_FAIL("CI is set and a network lab needs:" + missing);
    // Labs of earlier runs of this test are named pp<pid>.
    removeStaleLabs("pp");
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(peerBinary()), peerBinary() << " is missing");
    Lab lab("pp" + std::to_string(::getpid()),
            {"c1=cone", "c2=cone", "s1=symmetric", "s2=symmetric"});
    PunchLab punch(lab);
    const std::vector<PairSpec> pairs = {
        {"cone<->cone", "c1-1", "c2-1", true},
        {"cone<->cone, 2nd +500 ms", "c1-1", "c2-1", true, 500ms},
        {"cone<->cone, 2nd +1500 ms", "c1-1", "c2-1", true, 1500ms},
        {"public<->cone", "pub", "c1-1", true},
        {"cone<->public, 2nd +500 ms", "c1-1", "pub", true, 500ms},
        {"cone<->symmetric", "c1-1", "s1-1", false},
        {"symmetric<->symmetric", "s1-1", "s2-1", false},
        {"public<->symmetric", "pub", "s1-1", false},
    };
    std::vector<PairTally> tallies(pairs.size());
    const int attempts = attemptsPerPair();
    BOOST_REQUIRE(attempts <= 50); // ports stay within each pair's 100
    for (std::size_t p = 0; p < pairs.size(); ++p) {
        for (int i = 0; i < attempts; ++i) {
            // Fresh ports for every attempt: no 4-tuple of an earlier
            // attempt is still in TIME_WAIT or in a router's conntrack table.
            auto portA = static_cast<std::uint16_t>(kFirstPort + 100 * p + 2 * i);
            auto portB = static_cast<std::uint16_t>(portA + 1);
            auto r = runAttempt(punch, pairs[p], portA, portB);
            checkAttempt(punch, pairs[p], r, portA, portB);
            tallies[p].add(pairs[p], r);
        }
    }
    printTable(pairs, tallies);
}

// Sessions across the lab's NAT routers, the way swarm makes them: a relay
// on the public host "boot", a serving peer (the submitter's side) on "pub"
// or in a home, reserved on the relay, and a dialing peer (the worker's
// side) elsewhere, each a connect_peer process in its lab namespace. For
// each pair of places: every session is made, over the path the NATs leave
// (direct to a public host; hole-punched between homes whose routers keep
// ports, a public host included; relayed when a router picks random
// ports). Then one shaped home link carries a stream both direct and
// relayed, and an unshaped relayed stream shows what the relay's CPU pays.
// Prints what it measured (docs/benchmarks.md "Sessions by path").
//
// SWARM_CONNECT_DIALS (default 5) sets the sessions per pair,
// SWARM_CONNECT_MIB (default 4) the MiB of each stream. Needs root, ip
// netns and nft: skipped without them, except when CI is set, where it
// fails.

#include "netlab/lab_fixture.hpp"
#include "support/child_process.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
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

namespace {

constexpr const char* kRelayAt = "203.0.113.2:7400";
constexpr const char* kPub = "203.0.113.3";
constexpr const char* kServePort = "7500";
constexpr int kShapedMbit = 20;

int fromEnv(const char* name, int fallback, int most) {
    const char* v = std::getenv(name);
    int n = v != nullptr ? std::atoi(v) : 0;
    return n > 0 ? std::min(n, most) : fallback;
}

std::string peerBinary() {
    const char* b = std::getenv("SWARM_BUILD_ROOT");
    if (b == nullptr)
        throw std::runtime_error("SWARM_BUILD_ROOT is not set (run through meson test)");
    return std::string(b) + "/tests/netlab/connect_peer";
}

// A connect_peer in a lab namespace, with its stdin and stdout piped.
std::unique_ptr<test::ChildProcess> startPeer(const Lab& lab, const std::string& host,
                                              std::vector<std::string> args) {
    return lab.start(host, peerBinary(), std::move(args));
}

void expectReady(test::ChildProcess& peer, const std::string& what) {
    auto line = peer.readLine(20s);
    BOOST_REQUIRE_MESSAGE(line && *line == "ready", what << ": " << line.value_or("no line"));
}

// A serving peer: on "pub" it is reached directly, in a home through the
// relay.
struct Server {
    std::unique_ptr<test::ChildProcess> process;
    std::string endpoint; ///< for connect_peer dial

    Server(const Lab& lab, const std::string& host) {
        if (host == "pub") {
            process = startPeer(lab, host, {"serve", kPub, kServePort});
            endpoint = std::string(kPub) + ":" + kServePort;
        } else {
            process = startPeer(lab, host, {"serve", "0.0.0.0", kServePort, kRelayAt});
            endpoint = std::string("via ") + kRelayAt;
        }
        expectReady(*process, "server on " + host);
    }
    ~Server() {
        process->closeInput();
        if (!process->wait(10s))
            process->terminate(2s);
    }
};

// What one dialing peer printed, and the relay's open circuits while it
// held its sessions.
struct DialLines {
    std::vector<std::pair<std::string, double>> dials; ///< path, ms
    int circuitsWhileHeld = -1;
    std::string throughputPath;
    double mibPerSecond = 0;
    std::string failure;
};

// The relay's open circuits once they are `expected`, or after 5 s what
// they are then: a circuit whose end left is closed when the relay's pump
// next looks (within a quarter second).
int openCircuits(test::ChildProcess& relay, int expected) {
    int n = -1;
    for (int i = 0; i < 50 && n != expected; ++i) {
        if (i > 0)
            std::this_thread::sleep_for(100ms);
        relay.writeLine("stats");
        auto line = relay.readLine(10s);
        n = line && line->starts_with("circuits ") ? std::stoi(line->substr(9)) : -1;
    }
    return n;
}

DialLines dial(const Lab& lab, test::ChildProcess& relay, const std::string& host,
               const std::string& endpoint, int count, int mib, int expectedCircuits = 0) {
    auto peer =
        startPeer(lab, host, {"dial", endpoint, std::to_string(count), std::to_string(mib)});
    DialLines out;
    while (auto line = peer->readLine(60s)) {
        std::istringstream in(*line);
        std::string kind, path;
        double value = 0;
        in >> kind >> path >> value;
        if (kind == "dial") {
            out.dials.emplace_back(path, value);
        } else if (kind == "holding") {
            out.circuitsWhileHeld = openCircuits(relay, expectedCircuits);
            peer->closeInput();
        } else if (kind == "throughput") {
            out.throughputPath = path, out.mibPerSecond = value;
        } else {
            out.failure = *line;
        }
    }
    auto status = peer->wait(10s);
    if (!status)
        status = peer->terminate(2s);
    if (status != 0 && out.failure.empty())
        out.failure = "exit status " + std::to_string(status.value_or(-1));
    return out;
}

struct PairSpec {
    std::string name;
    std::string dialHost;
    std::string serveHost;
    std::string path; ///< every session's
};

// Nearest rank: the smallest value at least a share `p` of all are at or under.
double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// CPU time (user + system) a process used so far, in ms.
double cpuMsOf(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) // fields 3..13
        fields >> skip;
    double user = 0, system = 0;
    fields >> user >> system;
    return (user + system) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace

BOOST_AUTO_TEST_CASE(sessions_take_the_path_each_nat_pair_leaves,
                     *boost::unit_test::precondition(labUsable)) {
    if (auto missing = labMissing(); !missing.empty())
        BOOST_FAIL("CI is set and a network lab needs:" + missing);
    removeStaleLabs("nc");
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(peerBinary()), peerBinary() << " is missing");
    Lab lab("nc" + std::to_string(::getpid()),
            {"c1=cone", "c2=cone", "s1=symmetric", "s2=symmetric"});
    const int count = fromEnv("SWARM_CONNECT_DIALS", 5, 200);
    const int mib = fromEnv("SWARM_CONNECT_MIB", 4, 1024);
    auto relay = startPeer(lab, "boot", {"relay", "203.0.113.2", "7400"});
    expectReady(*relay, "relay");

    const std::vector<PairSpec> pairs = {
        {"cone -> public", "c1-1", "pub", "direct"},
        {"cone -> cone", "c2-1", "c1-1", "hole-punched"},
        {"public -> cone", "pub", "c1-1", "hole-punched"},
        {"symmetric -> cone", "s1-1", "c1-1", "relayed"},
        {"cone -> symmetric", "c1-1", "s1-1", "relayed"},
        {"symmetric -> symmetric", "s2-1", "s1-1", "relayed"},
    };
    std::ostringstream table;
    table << std::fixed << std::setprecision(1);
    table << "| dialing -> serving | sessions | path | p50 ms | p99 ms | max ms |\n"
          << "|---|---|---|---|---|---|\n";
    for (const auto& pair : pairs) {
        Server server(lab, pair.serveHost);
        auto got = dial(lab, *relay, pair.dialHost, server.endpoint, count, 0,
                        pair.path == "relayed" ? count : 0);
        BOOST_TEST_CONTEXT(pair.name) {
            BOOST_TEST(got.failure.empty(), got.failure);
            BOOST_TEST(got.dials.size() == static_cast<std::size_t>(count));
            // While the sessions last, only relayed ones hold a circuit.
            BOOST_TEST(got.circuitsWhileHeld == (pair.path == "relayed" ? count : 0));
            std::vector<double> ms;
            for (const auto& [path, t] : got.dials) {
                BOOST_TEST(path == pair.path);
                ms.push_back(t);
            }
            table << "| " << pair.name << " | " << ms.size() << " | " << pair.path << " | "
                  << percentile(ms, 0.5) << " | " << percentile(ms, 0.99) << " | "
                  << percentile(ms, 1.0) << " |\n";
        }
    }

    // The same shaped home link, direct to a public host and through the
    // relay to a home whose router picks random ports.
    lab.shape("c2", kShapedMbit);
    std::map<std::string, double> rate;
    for (const auto& serveHost : {"pub", "s1-1"}) {
        Server server(lab, serveHost);
        auto got = dial(lab, *relay, "c2-1", server.endpoint, 0, mib);
        BOOST_TEST(got.failure.empty(), got.failure);
        rate[got.throughputPath] = got.mibPerSecond;
    }
    lab.shape("c2", 0);
    BOOST_TEST(rate.count("direct") == 1u);
    BOOST_TEST(rate.count("relayed") == 1u);
    table << "\nc2's link shaped to " << kShapedMbit << " Mbit/s, " << mib << " MiB each: direct "
          << rate["direct"] << " MiB/s, relayed " << rate["relayed"] << " MiB/s, relayed/direct "
          << std::setprecision(3) << (rate["direct"] > 0 ? rate["relayed"] / rate["direct"] : 0)
          << std::setprecision(1) << "\n";

    // What relaying costs the relay: an unshaped stream between two homes
    // with random-port routers.
    {
        Server server(lab, "s1-1");
        const double before = cpuMsOf(relay->pid());
        auto got = dial(lab, *relay, "s2-1", server.endpoint, 0, 4 * mib);
        const double cpu = cpuMsOf(relay->pid()) - before;
        BOOST_TEST(got.failure.empty(), got.failure);
        BOOST_TEST(got.throughputPath == "relayed");
        table << "unshaped relayed stream of " << 4 * mib << " MiB: " << got.mibPerSecond
              << " MiB/s; the relay's CPU: " << cpu << " ms, " << cpu / (4.0 * mib / 1024.0)
              << " ms per GiB\n";
    }
    relay->closeInput();
    auto relayed = relay->readLine(10s);
    BOOST_TEST((relayed && relayed->starts_with("relayed ")));
    relay->wait(10s);
    std::cout << table.str() << std::flush;
    BOOST_TEST_MESSAGE(table.str());
}

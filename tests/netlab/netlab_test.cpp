// Batches across NAT with real processes: a network lab (tests/netlab/lab)
// with a stock dhtnode on the public host "boot", swarm-submit on the public
// host "pub" or in a home of its own behind NAT, swarm-workers each in its
// own home behind a NAT router ("cone" or "symmetric" ones), and in some
// scenarios a worker on "pub" that relays. One Podman service (its unix
// socket works across namespaces) runs every unit. Needs root, ip netns and nft: skipped without
// them, except when CI is set, where it fails.

#include "e2e/swarm_fixture.hpp"
#include "netlab/lab_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace swarm::e2e;
using namespace swarm::netlab;
using namespace std::chrono_literals;

namespace {

// Addresses that tests/netlab/lab gives (docs/netlab.md).
constexpr const char* kBoot = "203.0.113.2";
constexpr const char* kPub = "203.0.113.3";
constexpr std::uint16_t kDhtPort = 4222;

std::map<std::string, int> makeInputs(const std::filesystem::path& dir, int n) {
    std::filesystem::create_directories(dir);
    std::map<std::string, int> words;
    for (int i = 0; i < n; ++i) {
        auto name = "part-" + std::to_string(i) + ".txt";
        std::ofstream out(dir / name);
        for (int w = 0; w < 3 + i; ++w)
            out << "word" << w << (w % 4 == 3 ? '\n' : ' ');
        words[name] = 3 + i;
    }
    return words;
}

// One batch in a lab: where the submitter and the workers are, and what
// path their sessions must take.
struct Scenario {
    std::string name;                  ///< [a-z]{1,3}: lab and directory names
    std::vector<std::string> homes;    ///< for `lab up`
    std::string submitterHost = "pub"; ///< a lab host
    std::vector<std::string> workerHosts = {"h1-1", "h2-1"};
    bool publicRelayWorker = false; ///< a worker on "pub" started with --relay
    bool secondRelayWorker = false; ///< another on "boot"
    /// A second swarm-submit on "pub", started with --relay, whose own job
    /// no worker takes: the batch's submitter reaches its workers through
    /// it.
    bool relaySubmitter = false;
    bool killRelayMidBatch = false; ///< kill the relay in use once a unit is valid
    std::string cutHome;            ///< a home whose uplink goes down once a unit is valid
    std::chrono::seconds cutFor{30};
    std::string path = "direct"; ///< every session's, in the summary
    std::string addressHas;      ///< in every session's address
    int units = 4;
};

constexpr std::uint16_t kRelayPort = 7400;

// A worker on a public host that also relays: it trusts the other workers
// (a relay serves the peers on its allow-list).
WorkerOptions relayWorker(Lab& lab, const std::string& host, const std::string& address,
                          const std::vector<std::string>& others) {
    WorkerOptions o;
    o.placement = {lab.ns(host), address};
    o.slots = 1;
    o.trusts = others;
    o.args = {"--relay", address + ":" + std::to_string(kRelayPort)};
    return o;
}

// Waits for a unit to validate, then kills the relay worker whose circuits
// the sessions so far used; returns its name.
std::string killRelayInUse(Swarm& s, const std::filesystem::path& events,
                           const std::vector<std::string>& relays) {
    BOOST_REQUIRE(waitFor([&] { return !eventsOf(events, "unit-valid").empty(); }, 120s));
    for (const auto& e : eventsOf(events, "worker-connected"))
        for (const auto& name : relays)
            if (field(e, "address").find(s.workerId(name).substr(0, 12)) != std::string::npos) {
                s.killWorker(name);
                return name;
            }
    BOOST_FAIL("no session went through a relay");
    return {};
}

// Starts the scenario's relaying submitter on "pub": it trusts the batch's
// submitter and the workers (a relay serves its allow-list), and the
// batch's submitter trusts it; no worker trusts it, so its one unit waits.
std::unique_ptr<Child> startRelaySubmitter(Swarm& s, Lab& lab, const std::filesystem::path& dir,
                                           const std::vector<std::string>& workers) {
    const auto id = s.addSubmitter("relay");
    s.submitterTrusts(id);
    s.submitterTrusts(s.submitterId(), "relay");
    for (const auto& w : workers)
        s.submitterTrusts(w, "relay");
    makeInputs(dir / "relay-inputs", 1);
    std::ofstream(dir / "relay-job.toml") << "name = \"waits\"\n"
                                          << "image = \"localhost/swarm-test:latest\"\n"
                                          << "command = [\"true\"]\n"
                                          << "inputs = \"relay-inputs/*.txt\"\n";
    const std::string relayAt = std::string(kPub) + ":" + std::to_string(kRelayPort);
    return s.startSubmitAt({lab.ns("pub"), kPub}, std::string(kPub) + ":0",
                           {"run", (dir / "relay-job.toml").string(), "--out",
                            (dir / "relay-job").string(), "--relay", relayAt},
                           dir / "relay-events.jsonl", "relay");
}

void runBatch(const Scenario& sc) {
    if (auto missing = labMissing(); !missing.empty())
        BOOST_FAIL("CI is set and a network lab needs:" + missing);
    // Labs of earlier runs of this test are named nl<pid><scenario>.
    removeStaleLabs("nl");
    Lab lab("nl" + std::to_string(::getpid()) + sc.name, sc.homes);
    SwarmOptions o;
    o.bootstrapNetns = lab.ns("boot");
    o.bootstrapHost = kBoot;
    o.bootstrapPort = kDhtPort;
    const std::string submitterAddr = lab.addr(sc.submitterHost);
    o.submitter = {lab.ns(sc.submitterHost), submitterAddr};
    o.submitterListen = sc.submitterHost == "pub" ? std::string(kPub) + ":0" : "*:0";
    Swarm s(o);
    std::vector<std::string> names;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < sc.workerHosts.size(); ++i) {
        WorkerOptions w;
        w.placement = {lab.ns(sc.workerHosts[i]), lab.addr(sc.workerHosts[i])};
        names.push_back("w" + std::to_string(i + 1));
        ids.push_back(s.createWorker(names.back(), w));
    }
    const std::vector<std::string> workers = ids;
    std::vector<std::string> relays;
    if (sc.publicRelayWorker) {
        relays.push_back("relay");
        ids.push_back(s.createWorker("relay", relayWorker(lab, "pub", kPub, workers)));
    }
    if (sc.secondRelayWorker) {
        relays.push_back("relay2");
        ids.push_back(s.createWorker("relay2", relayWorker(lab, "boot", kBoot, workers)));
    }
    names.insert(names.end(), relays.begin(), relays.end());
    for (const auto& n : names)
        s.startWorker(n);

    auto dir = s.root() / ("batch-" + sc.name);
    auto words = makeInputs(dir / "inputs", sc.units);
    std::unique_ptr<Child> relaySubmit;
    std::string addressHas = sc.addressHas;
    if (sc.relaySubmitter) {
        relaySubmit = startRelaySubmitter(s, lab, dir, workers);
        addressHas = s.submitterIdOf("relay").substr(0, 12);
    }
    auto job = dir / "job.toml";
    std::ofstream(job) << "name = \"across-nat-" << sc.name << "\"\n"
                       << "image = \"localhost/swarm-test:latest\"\n"
                       << "command = [\"sh\", \"-c\", \"sleep 1; wc -w < {} > out/words\"]\n"
                       << "inputs = \"inputs/*.txt\"\n"
                       << "outputs = [\"out/words\"]\n"
                       << "replicas = 2\nquorum = 2\ntimeout = \"60s\"\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    std::string killed;
    if (sc.killRelayMidBatch)
        killed = killRelayInUse(s, events, relays);
    if (!sc.cutHome.empty()) {
        BOOST_REQUIRE(waitFor([&] { return !eventsOf(events, "unit-valid").empty(); }, 120s));
        lab.link(sc.cutHome, false);
        std::this_thread::sleep_for(sc.cutFor);
        lab.link(sc.cutHome, true);
    }
    auto status = submit->wait(180s);
    if (!status) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    auto log = readFile(events.string() + ".log");
    if (status != 0) {
        std::string logs;
        for (const auto& n : names)
            logs += "\n" + n + ": " + readFile(s.workerLog(n));
        BOOST_FAIL("swarm-submit: " << log << "\nevents: " << readFile(events) << logs);
    }
    auto summary = readFile(dir / "job" / "summary.json");
    BOOST_TEST(summary.find("\"valid\":" + std::to_string(sc.units)) != std::string::npos, summary);
    BOOST_TEST(summary.find("\"failed\":0") != std::string::npos, summary);
    BOOST_TEST(eventsOf(events, "unit-valid").size() == words.size()); // each once
    for (const auto& [unit, count] : words) {
        std::istringstream in(readFile(dir / "job" / "results" / unit / "out/words"));
        int n = -1;
        in >> n;
        BOOST_TEST(n == count, unit);
    }
    // Every session took the path the scenario leaves, and says so.
    const auto connected = eventsOf(events, "worker-connected");
    BOOST_TEST(!connected.empty());
    for (const auto& e : connected) {
        BOOST_TEST(e.find("\"path\":\"" + sc.path + "\"") != std::string::npos, e);
        BOOST_TEST(field(e, "address").find(addressHas) != std::string::npos, e);
    }
    BOOST_TEST(summary.find("\"path\":\"" + sc.path + "\"") != std::string::npos, summary);
    if (!killed.empty()) { // sessions came back through the other relay
        const auto id = s.workerId(killed).substr(0, 12);
        const auto last = connected.back();
        BOOST_TEST(field(last, "address").find(id) == std::string::npos, last);
    }
    if (relaySubmit) {
        relaySubmit->signal(SIGTERM);
        BOOST_TEST(relaySubmit->wait(30s).has_value());
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == killed) {
            s.removeContainersOf(ids[i]);
            continue;
        }
        BOOST_TEST(s.stopWorker(names[i]) == 0, names[i]);
        BOOST_TEST(s.containersOf(ids[i]) == 0u, names[i]);
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(batch_validates_with_workers_behind_cone_nat,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "c", .homes = {"h1=cone", "h2=cone"}});
}

BOOST_AUTO_TEST_CASE(batch_validates_with_workers_behind_symmetric_nat,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "s", .homes = {"h1=symmetric", "h2=symmetric"}});
}

// The submitter behind NAT too: it learns so from the DHT, finds the relay
// the public worker announces, and every worker (the relay itself too)
// reaches it through that relay. Every NAT keeps ports, so each circuit is
// replaced by a hole punch.
BOOST_AUTO_TEST_CASE(batch_validates_with_submitter_and_workers_behind_nat,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "nn",
              .homes = {"hs=cone", "h1=cone", "h2=cone"},
              .submitterHost = "hs-1",
              .publicRelayWorker = true,
              .path = "hole-punched"});
}

BOOST_AUTO_TEST_CASE(batch_validates_with_submitter_behind_nat_and_one_public_worker,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "np",
              .homes = {"hs=cone", "h1=cone"},
              .submitterHost = "hs-1",
              .workerHosts = {"h1-1"},
              .publicRelayWorker = true,
              .path = "hole-punched"});
}

// The relay is a submitter: started with --relay, it announces a record
// without slots that names its relay, and the batch's submitter behind NAT
// reserves on it. The batch's router picks random ports, so sessions stay
// on the relay.
BOOST_AUTO_TEST_CASE(a_submitter_that_relays_carries_another_submitters_sessions,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "sr",
              .homes = {"hs=symmetric", "h1=cone", "h2=cone"},
              .submitterHost = "hs-1",
              .relaySubmitter = true,
              .path = "relayed"});
}

// Random ports on every NAT: no punch can work, every session is relayed.
BOOST_AUTO_TEST_CASE(batch_validates_with_every_nat_symmetric,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "ss",
              .homes = {"hs=symmetric", "h1=symmetric", "h2=symmetric"},
              .submitterHost = "hs-1",
              .publicRelayWorker = true,
              .path = "relayed"});
}

// Two relays; the one in use dies mid-batch. Sessions come back through the
// other, and every unit still validates exactly once. The NATs pick random
// ports, so that sessions stay on their circuits.
BOOST_AUTO_TEST_CASE(sessions_move_to_another_relay_when_theirs_dies,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "k",
              .homes = {"hs=symmetric", "h1=symmetric", "h2=symmetric"},
              .submitterHost = "hs-1",
              .publicRelayWorker = true,
              .secondRelayWorker = true,
              .killRelayMidBatch = true,
              .path = "relayed",
              .units = 8});
}

// A worker's home loses its uplink for 30 s mid-batch, then gets it back:
// every unit validates once, and no container is left behind.
BOOST_AUTO_TEST_CASE(a_batch_survives_a_workers_uplink_cut_for_30_s,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "u", .homes = {"h1=cone", "h2=cone"}, .cutHome = "h1", .units = 8});
}

// IPv6 beside NAT: every host has a global IPv6 address next to its NATed
// IPv4 one, and the submitter's router lets IPv6 in. The workers reach the
// submitter directly over IPv6, with no relay.
BOOST_AUTO_TEST_CASE(sessions_go_direct_over_ipv6_beside_nat,
                     *boost::unit_test::precondition(labUsable)) {
    runBatch({.name = "v",
              .homes = {"--ipv6", "hs=cone+open6", "h1=cone", "h2=cone"},
              .submitterHost = "hs-1",
              .path = "direct",
              .addressHas = "[2001:db8:0:"});
}

// A batch across NAT with real processes: a network lab (tests/netlab/lab)
// with a stock dhtnode on the public host "boot", swarm-submit listening on
// the public host "pub", and two swarm-workers each in its own home behind a
// NAT router, first "cone" then "symmetric" ones. The workers dial out to the
// submitter; one Podman service (its unix socket works across namespaces)
// runs every unit. Needs root, ip netns and nft: skipped without them, except
// when CI is set, where it fails.

#include "e2e/swarm_fixture.hpp"
#include "netlab/lab_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
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

void batchAcrossNat(const std::string& kind) {
    if (auto missing = labMissing(); !missing.empty())
        BOOST_FAIL("CI is set and a network lab needs:" + missing);
    // Labs of earlier runs of this test are named nl<pid><c|s>.
    removeStaleLabs("nl");
    // Lab names are [a-z0-9]{1,12}, unique per process and case.
    Lab lab("nl" + std::to_string(::getpid()) + kind.substr(0, 1), {"h1=" + kind, "h2=" + kind});

    SwarmOptions o;
    o.bootstrapNetns = lab.ns("boot");
    o.bootstrapHost = kBoot;
    o.bootstrapPort = kDhtPort;
    o.submitter = {lab.ns("pub"), kPub};
    o.submitterListen = std::string(kPub) + ":0";
    Swarm s(o);

    // Hosts h1-1 and h2-1: 192.0.2.10 and 192.0.2.74, behind 203.0.113.11
    // and 203.0.113.12.
    WorkerOptions w1;
    w1.placement = {lab.ns("h1-1"), "192.0.2.10"};
    WorkerOptions w2;
    w2.placement = {lab.ns("h2-1"), "192.0.2.74"};
    auto id1 = s.startWorker("w1", w1);
    auto id2 = s.startWorker("w2", w2);

    auto dir = s.root() / ("batch-" + kind);
    auto words = makeInputs(dir / "inputs", 4);
    auto job = dir / "job.toml";
    std::ofstream(job) << "name = \"across-" << kind << "-nat\"\n"
                       << "image = \"localhost/swarm-test:latest\"\n"
                       << "command = [\"sh\", \"-c\", \"wc -w < {} > out/words\"]\n"
                       << "inputs = \"inputs/*.txt\"\n"
                       << "outputs = [\"out/words\"]\n"
                       << "replicas = 2\nquorum = 2\ntimeout = \"60s\"\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto status = submit->wait(120s);
    if (!status) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    auto log = readFile(events.string() + ".log");
    BOOST_REQUIRE_MESSAGE(status == 0,
                          "swarm-submit: " << log << "\nw1: " << readFile(s.workerLog("w1")));

    auto summary = readFile(dir / "job" / "summary.json");
    BOOST_TEST(summary.find("\"valid\":4") != std::string::npos, summary);
    BOOST_TEST(summary.find("\"failed\":0") != std::string::npos, summary);
    BOOST_TEST(eventsOf(events, "unit-valid").size() == words.size());
    for (const auto& [unit, count] : words) {
        std::istringstream in(readFile(dir / "job" / "results" / unit / "out/words"));
        int n = -1;
        in >> n;
        BOOST_TEST(n == count, unit);
    }
    // Both workers came through their routers' public addresses.
    BOOST_TEST(log.find("connected from 203.0.113.11:") != std::string::npos, log);
    BOOST_TEST(log.find("connected from 203.0.113.12:") != std::string::npos, log);
    BOOST_TEST(s.stopWorker("w1") == 0);
    BOOST_TEST(s.stopWorker("w2") == 0);
    BOOST_TEST(s.containersOf(id1) == 0u);
    BOOST_TEST(s.containersOf(id2) == 0u);
}

} // namespace

BOOST_AUTO_TEST_CASE(batch_validates_with_workers_behind_cone_nat,
                     *boost::unit_test::precondition(labUsable)) {
    batchAcrossNat("cone");
}

BOOST_AUTO_TEST_CASE(batch_validates_with_workers_behind_symmetric_nat,
                     *boost::unit_test::precondition(labUsable)) {
    batchAcrossNat("symmetric");
}

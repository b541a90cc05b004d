#include "submitter/workers_command.hpp"

#include "dht/discovery.hpp"
#include "wire/identity.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;
using swarm::submitter::workersJson;
using swarm::submitter::workersTable;

namespace {
// Three workers as `swarm-submit workers` finds them: one on a public
// address that relays, one behind NAT, one whose record predates `reach`.
dht::DiscoverySnapshot snapshot() {
    dht::DiscoverySnapshot snap;
    snap.nowMs = 1'700'000'012'000;
    auto worker = [&](std::uint8_t key, std::string name, std::string reach) {
        dht::WorkerEntry w;
        wire::PublicKey k;
        k.bytes.fill(key);
        w.id = wire::PeerId(k);
        w.name = std::move(name);
        w.issuedAtMs = 1'700'000'000'000;
        w.record.cores = 8;
        w.record.memoryBytes = 16ull << 30;
        w.record.slots = 4;
        w.record.freeSlots = 4;
        w.record.arch = "x86_64";
        w.record.podman = "4.3.1";
        w.record.rootless = true;
        w.record.reach = std::move(reach);
        return w;
    };
    snap.workers = {worker(1, "relay", "public"), worker(2, "home", "behind-nat"),
                    worker(3, "old", "")};
    snap.workers[0].record.relays = {"203.0.113.3:7400"};
    return snap;
}
} // namespace

BOOST_AUTO_TEST_SUITE(workers_command)

BOOST_AUTO_TEST_CASE(the_table_shows_each_workers_reach_and_relays) {
    auto text = workersTable("default", snapshot(), 3, 1200);
    BOOST_TEST_MESSAGE("\n" << text);
    BOOST_TEST(text.find("ROOTLESS REACH      ") != std::string::npos);
    BOOST_TEST(text.find("yes      public      ") != std::string::npos);
    BOOST_TEST(text.find("yes      behind-nat  ") != std::string::npos);
    BOOST_TEST(text.find("yes      -           ") != std::string::npos);
    BOOST_TEST(text.find("\n               relays at 203.0.113.3:7400\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_json_has_reach_and_relays_for_every_worker) {
    auto json = workersJson("default", snapshot(), 3, 1200, true);
    BOOST_TEST_MESSAGE(json);
    BOOST_TEST(json.find(R"("reach":"public","relays":["203.0.113.3:7400"])") != std::string::npos);
    BOOST_TEST(json.find(R"("reach":"behind-nat","relays":[])") != std::string::npos);
    BOOST_TEST(json.find(R"("reach":"","relays":[])") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

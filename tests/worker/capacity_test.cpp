#include "worker/capacity.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;

BOOST_AUTO_TEST_SUITE(capacity)

BOOST_AUTO_TEST_CASE(the_record_says_what_the_host_is_and_all_slots_are_free) {
    worker::HostFacts host;
    host.cores = 8;
    host.memoryBytes = 16ull << 30;
    host.arch = "aarch64";
    host.podmanVersion = "4.3.1";
    host.rootless = true;
    host.isolation.memory = true;
    auto r = worker::capacityRecord(host, 3, {"gpu"}, "swarm-worker/x");
    BOOST_TEST(r.cores == 8u);
    BOOST_TEST(r.memoryBytes == 16ull << 30);
    BOOST_TEST(r.arch == "aarch64");
    BOOST_TEST(r.os == "linux");
    BOOST_TEST(r.slots == 3u);
    BOOST_TEST(r.freeSlots == 3u);
    BOOST_TEST(r.labels == std::vector<std::string>{"gpu"});
    BOOST_TEST(r.podman == "4.3.1");
    BOOST_TEST(r.rootless);
    BOOST_TEST(r.isolation.memory);
    BOOST_TEST(!r.isolation.pids);
    BOOST_TEST(r.software == "swarm-worker/x");
}

BOOST_AUTO_TEST_CASE(a_cpu_cap_advertises_the_cores_it_leaves) {
    worker::HostFacts host;
    host.cores = 8;
    host.cpuPercent = 50;
    BOOST_TEST(worker::capacityRecord(host, 2, {}, "x").cores == 4u);
    host.cpuPercent = 10; // less than one core still offers one
    BOOST_TEST(worker::capacityRecord(host, 2, {}, "x").cores == 1u);
    host.cpuPercent = 100;
    BOOST_TEST(worker::capacityRecord(host, 2, {}, "x").cores == 8u);
}

BOOST_AUTO_TEST_CASE(measured_facts_are_plausible) {
    auto h = worker::HostFacts::measure();
    BOOST_TEST(h.cores >= 1u);
    BOOST_TEST(h.memoryBytes > 0u);
    BOOST_TEST(!h.arch.empty());
}

BOOST_AUTO_TEST_SUITE_END()

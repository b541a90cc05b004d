#include "wire/messages.hpp"
#include "worker/admission.hpp"
#include "worker/worker_config.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm;

namespace {
wire::Assign assign() {
    wire::Assign a;
    a.unitId = "u";
    a.image = "localhost/tool:1";
    a.command = {"true"};
    return a;
}
} // namespace

BOOST_AUTO_TEST_SUITE(admission)

BOOST_AUTO_TEST_CASE(a_unit_asking_for_nothing_gets_the_slots_share) {
    worker::WorkerConfig cfg;
    auto got = worker::admit(assign(), cfg);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(got->limits.memoryBytes == cfg.memoryPerSlot);
    BOOST_TEST(got->limits.cpuMillis == 1000u);
    BOOST_TEST(got->limits.pids == cfg.pidsPerSlot);
    BOOST_TEST(got->limits.scratchBytes == cfg.scratchPerSlot);
    BOOST_TEST(got->limits.maxOutputBytes == cfg.maxOutputBytes);
    BOOST_TEST(got->limits.timeout.count() == sandbox::Limits{}.timeout.count());
    BOOST_TEST(!got->shippedImage);
}

BOOST_AUTO_TEST_CASE(what_a_unit_asks_for_is_capped_by_the_slot) {
    worker::WorkerConfig cfg;
    auto a = assign();
    a.memoryBytes = 64 << 20;
    a.cpus = 8;
    a.pids = 100'000;
    a.timeoutMs = 5000;
    auto got = worker::admit(a, cfg);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(got->limits.memoryBytes == 64u << 20);
    BOOST_TEST(got->limits.cpuMillis == 1000u);
    BOOST_TEST(got->limits.pids == cfg.pidsPerSlot);
    BOOST_TEST(got->limits.timeout.count() == 5000);
    a.cpus = 0.25;
    a.pids = 10;
    got = worker::admit(a, cfg);
    BOOST_TEST(got->limits.cpuMillis == 250u);
    BOOST_TEST(got->limits.pids == 10u);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_volunteers_rule) {
    worker::WorkerConfig cfg;
    auto a = assign();
    a.image = "docker.io/evil:1";
    BOOST_TEST(worker::admit(a, cfg).error().find("not allowed by this worker's policy") !=
               std::string::npos);
    a = assign();
    a.memoryBytes = cfg.memoryPerSlot + 1;
    BOOST_TEST(worker::admit(a, cfg).error().find("MiB per slot") != std::string::npos);
    a = assign();
    a.timeoutMs = cfg.maxTimeoutMs + 1;
    BOOST_TEST(worker::admit(a, cfg).error().find("over this worker's limit") != std::string::npos);
    a = assign();
    a.command.clear();
    BOOST_TEST(worker::admit(a, cfg).error() == "no command");
    a = assign();
    a.image.clear();
    a.imageArchive = wire::RawDigest{1};
    BOOST_TEST(worker::admit(a, cfg)->shippedImage);
    cfg.acceptImageArchives = false;
    BOOST_TEST(worker::admit(a, cfg).error() == "this worker does not run shipped image archives");
}

BOOST_AUTO_TEST_SUITE_END()

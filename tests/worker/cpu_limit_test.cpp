#include "worker/cpu_limit.hpp"

#include "support/temp_dir.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/worker_config.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm;
using namespace swarm::worker;

namespace {
// A host where Podman applies cgroup limits and the doctor saw a CPU quota.
SandboxSetup rootful() {
    SandboxSetup s;
    s.report.profile.cgroupLimits = true;
    s.report.isolation.cpu = true;
    return s;
}
} // namespace

BOOST_AUTO_TEST_SUITE(cpu_limit)

BOOST_AUTO_TEST_CASE(no_cap_changes_nothing) {
    WorkerConfig cfg;
    cfg.slots = 2;
    auto setup = rootful();
    auto limit = applyCpuLimit(cfg, setup, "swarm-x", 2, "/nonexistent");
    BOOST_TEST(!limit.enforced);
    BOOST_TEST(limit.how.empty());
    BOOST_TEST(!setup.report.isolation.cpuCap);
    BOOST_TEST(setup.report.profile.cgroupParent.empty());
    BOOST_TEST(cfg.cpusPerSlot == 1.0);
}

BOOST_AUTO_TEST_CASE(a_parent_cgroup_holds_the_cap_and_bounds_each_units_quota) {
    test::TempDir root;
    std::filesystem::create_directories(root.path() / "cpu");
    std::ofstream(root.path() / "cpu" / "cpu.cfs_quota_us") << "-1";
    WorkerConfig cfg;
    cfg.slots = 4;
    cfg.cpuPercent = 25;
    auto setup = rootful();
    auto limit = applyCpuLimit(cfg, setup, "swarm-x", 2, root.path());
    BOOST_TEST(limit.enforced);
    BOOST_TEST(limit.cap.has_value());
    BOOST_TEST(setup.report.isolation.cpuCap);
    BOOST_TEST(setup.report.profile.cgroupParent == "/swarm-x");
    BOOST_TEST(cfg.cpusPerSlot == 0.5); // not above the parent's quota
    std::string quota;
    std::ifstream(root.path() / "cpu" / "swarm-x" / "cpu.cfs_quota_us") >> quota;
    BOOST_TEST(quota == "50000");
    BOOST_TEST(limit.how.find("CPU cap 25% of 2 core(s) = 0.50 CPU") != std::string::npos,
               limit.how);
}

BOOST_AUTO_TEST_CASE(without_a_parent_each_slot_gets_its_share) {
    test::TempDir empty; // no cpu controller here
    WorkerConfig cfg;
    cfg.slots = 4;
    cfg.cpuPercent = 50;
    auto setup = rootful();
    auto limit = applyCpuLimit(cfg, setup, "swarm-x", 2, empty.path());
    BOOST_TEST(limit.enforced);
    BOOST_TEST(!limit.cap.has_value());
    BOOST_TEST(setup.report.isolation.cpuCap);
    BOOST_TEST(setup.report.profile.cgroupParent.empty());
    BOOST_TEST(cfg.cpusPerSlot == 0.25); // 1 CPU over 4 slots
    BOOST_TEST(limit.how.find("no parent cgroup") != std::string::npos, limit.how);
}

BOOST_AUTO_TEST_CASE(rootless_on_cgroup_v1_says_the_cap_is_not_enforced) {
    WorkerConfig cfg;
    cfg.slots = 2;
    cfg.cpuPercent = 50;
    SandboxSetup setup;
    setup.report.profile.cgroupLimits = false;
    auto limit = applyCpuLimit(cfg, setup, "swarm-x", 2, "/nonexistent");
    BOOST_TEST(!limit.enforced);
    BOOST_TEST(!setup.report.isolation.cpuCap);
    BOOST_TEST(limit.how.find("is NOT enforced") != std::string::npos, limit.how);
    BOOST_TEST(cfg.cpusPerSlot == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

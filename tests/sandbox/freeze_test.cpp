// A unit's timeout without its frozen time, and the processes of a pid
// namespace found through a made-up /proc.

#include "sandbox/container_freezer.hpp"
#include "sandbox/container_spec.hpp"
#include "sandbox/pid_namespace.hpp"
#include "sandbox/unit_deadline.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm::sandbox;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// /proc/<pid>/ns/pid -> "pid:[<ns>]" and /proc/<pid>/stat (started at
// `start`, or 1000 + pid).
void addProcess(const fs::path& proc, pid_t pid, int ns, std::uint64_t ticks = 0, pid_t ppid = 1,
                std::uint64_t start = 0) {
    fs::create_directories(proc / std::to_string(pid) / "ns");
    fs::create_symlink("pid:[" + std::to_string(4026531000 + ns) + "]",
                       proc / std::to_string(pid) / "ns" / "pid");
    std::ofstream(proc / std::to_string(pid) / "stat")
        << pid << " (sh (x) y) S " << ppid << " 1 1 0 -1 4194560 100 0 0 0 " << ticks
        << " 1 2 3 20 0 1 0 " << (start != 0 ? start : 1000 + pid) << " 4096 10\n";
}

std::vector<pid_t> pids(const std::vector<ProcessRef>& refs) {
    std::vector<pid_t> out;
    for (const auto& r : refs)
        out.push_back(r.pid);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(unit_deadline)

BOOST_AUTO_TEST_CASE(frozen_time_is_added_to_the_deadline) {
    const UnitDeadline::Clock::time_point t0{};
    UnitDeadline d(t0, 60s);
    BOOST_TEST(d.left(t0 + 20s).count() == 40'000);
    d.freeze(t0 + 20s);
    BOOST_TEST(d.frozen());
    // Frozen for ten minutes: nothing runs out.
    BOOST_TEST(d.left(t0 + 10min).count() == 40'000);
    BOOST_TEST(!d.expired(t0 + 10min));
    BOOST_TEST(d.frozenFor(t0 + 10min).count() == 580'000);
    d.thaw(t0 + 10min);
    BOOST_TEST(d.left(t0 + 10min + 39s).count() == 1'000);
    BOOST_TEST(!d.expired(t0 + 10min + 39s));
    BOOST_TEST(d.expired(t0 + 10min + 40s));
    BOOST_TEST(d.frozenFor(t0 + 11min).count() == 580'000);
}

BOOST_AUTO_TEST_CASE(freezing_twice_and_thawing_a_running_unit_change_nothing) {
    const UnitDeadline::Clock::time_point t0{};
    UnitDeadline d(t0, 10s);
    d.thaw(t0 + 1s);
    BOOST_TEST(d.left(t0 + 1s).count() == 9'000);
    d.freeze(t0 + 2s);
    d.freeze(t0 + 5s); // still frozen since 2 s
    d.thaw(t0 + 6s);
    d.freeze(t0 + 7s);
    d.thaw(t0 + 8s);
    BOOST_TEST(d.frozenFor(t0 + 9s).count() == 5'000);
    BOOST_TEST(d.left(t0 + 9s).count() == 6'000);
    BOOST_TEST(d.expired(t0 + 15s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pid_namespace)

BOOST_AUTO_TEST_CASE(a_units_processes_are_its_namespace_and_their_descendants) {
    swarm::test::TempDir dir;
    const auto proc = dir.path() / "proc";
    addProcess(proc, 1, 0);            // the host's
    addProcess(proc, 400, 0, 50, 1);   // conmon: the init's parent, the host's
    addProcess(proc, 500, 7, 10, 400); // a unit's init
    addProcess(proc, 501, 7, 5, 500);
    addProcess(proc, 777, 8); // another container
    addProcess(proc, 502, 7, 1, 500);
    // A pid namespace the unit made for itself below its own.
    addProcess(proc, 600, 9, 20, 501);
    addProcess(proc, 601, 9, 0, 600);
    fs::create_directories(proc / "self" / "ns");
    BOOST_TEST(pids(UnitProcesses(500, proc).list()) ==
               (std::vector<pid_t>{500, 501, 502, 600, 601}));
    BOOST_TEST(pids(UnitProcesses(777, proc).list()) == (std::vector<pid_t>{777}));
    BOOST_TEST(UnitProcesses(999, proc).empty()); // gone
    BOOST_TEST(UnitProcesses(999, proc).list().empty());
    BOOST_TEST(UnitProcesses(500, proc).list()[0].startTime == 1500u);
    // A pid in our own namespace (reused after its container ended) is
    // never taken for a unit's.
    fs::create_symlink("pid:[4026531000]", proc / "self" / "ns" / "pid");
    BOOST_TEST(UnitProcesses(1, proc).empty());
    BOOST_TEST(UnitProcesses(1, proc).list().empty());
    const UnitProcesses unit(500, proc);
    BOOST_TEST(unit.list().size() == 5u);
    // utime 10 + stime 1 + cutime 2 + cstime 3, and so on.
    BOOST_TEST(unit.cpuTicks() == 16u + 11u + 7u + 26u + 6u);
    BOOST_TEST(UnitProcesses(999, proc).cpuTicks() == 0u);

    // The unit ends; the host reuses its pids, here for another sandbox of
    // the volunteer's (a namespace of its own, not ours). What was named at
    // the unit's start matches none of them.
    for (pid_t p : {500, 501, 502, 600, 601})
        fs::remove_all(proc / std::to_string(p));
    addProcess(proc, 500, 5, 99, 1, 77);
    addProcess(proc, 501, 5, 99, 500, 78);
    BOOST_TEST(UnitProcesses(500, proc).list().size() == 2u); // named now, it would be
    BOOST_TEST(unit.list().empty());
    BOOST_TEST(unit.cpuTicks() == 0u);
}

BOOST_AUTO_TEST_CASE(stat_lines) {
    const char* line = "42 (a b) R 7 1 1 0 -1 0 0 0 0 0 7 8 9 10 20 0 1 0 12345 4096 10";
    BOOST_TEST(cpuTicksOfStat(line).value_or(0) == 34u);
    auto st = parsePidStat(line);
    BOOST_REQUIRE(st.has_value());
    BOOST_TEST(st->ppid == 7);
    BOOST_TEST(st->startTime == 12345u);
    BOOST_TEST(!cpuTicksOfStat("42 (a) R 1 1"));
    BOOST_TEST(!cpuTicksOfStat("42 (a b) R 1 1 1 0 -1 0 0 0 0 0 7 8 9 10 20 0 1 0")); // no start
    BOOST_TEST(!cpuTicksOfStat("no parenthesis"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(freeze_method)

BOOST_AUTO_TEST_CASE(signals_only_where_podman_cannot_pause) {
    HostProfile rootful;
    BOOST_TEST((freezeMethodFor(rootful) == FreezeMethod::kCgroupFreezer));
    HostProfile rootlessV1;
    rootlessV1.rootless = true;
    rootlessV1.cgroupLimits = false;
    BOOST_TEST((freezeMethodFor(rootlessV1) == FreezeMethod::kSignals));
    BOOST_TEST(describe(FreezeMethod::kSignals).starts_with("SIGSTOP/SIGCONT"));
}

BOOST_AUTO_TEST_SUITE_END()

// The suspension's state machine, the CPU sampler, control lines and
// logind's output: pure logic, time and /proc text made up here.

#include "worker/control_request.hpp"
#include "worker/duration.hpp"
#include "worker/other_cpu.hpp"
#include "worker/suspension.hpp"
#include "worker/user_activity.hpp"

#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

using namespace swarm::worker;

namespace {

std::string hhmm(std::int64_t ms) {
    return fmt::format("t{}", ms / 1000);
}

// Feeds one measurement a second from `fromS` to `toS` (inclusive).
void feed(Suspension& s, double percent, int fromS, int toS) {
    for (int t = fromS; t <= toS; ++t)
        s.otherCpu(percent, t * 1000);
}

std::string procStat(std::uint64_t user, std::uint64_t idle) {
    return fmt::format("cpu  {} 0 0 {} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n", user,
                       idle);
}

} // namespace

BOOST_AUTO_TEST_SUITE(suspension)

BOOST_AUTO_TEST_CASE(the_volunteer_suspends_until_resume_or_for_a_while) {
    Suspension s;
    BOOST_TEST(!s.suspended());
    BOOST_TEST(s.describe(hhmm) == "");
    s.suspendByUser(10'000, std::nullopt);
    s.tick(1'000'000'000);
    BOOST_TEST(s.suspended());
    BOOST_TEST(s.describe(hhmm) == "user");
    s.resumeByUser();
    BOOST_TEST(!s.suspended());

    s.suspendByUser(10'000, 30 * 60'000);
    BOOST_TEST(s.describe(hhmm) == "user until t1810");
    s.tick(10'000 + 30 * 60'000 - 1);
    BOOST_TEST(s.suspended());
    s.tick(10'000 + 30 * 60'000);
    BOOST_TEST(!s.suspended());
    BOOST_TEST(!s.userUntilMs());
}

BOOST_AUTO_TEST_CASE(other_processes_suspend_after_5_s_over_and_resume_after_10_s_under) {
    Suspension s(50);
    feed(s, 80, 0, 4); // over for 4 s: not yet
    BOOST_TEST(!s.suspended());
    feed(s, 80, 5, 5);
    BOOST_TEST(s.busy());
    BOOST_TEST(s.describe(hhmm) == "busy (other processes at 80% > 50%)");
    feed(s, 10, 6, 15); // under for 9 s
    BOOST_TEST(s.busy());
    feed(s, 10, 16, 16);
    BOOST_TEST(!s.busy());
    BOOST_TEST(s.otherPercent() == 10.0);
}

BOOST_AUTO_TEST_CASE(a_spike_or_a_lull_shorter_than_the_rule_changes_nothing) {
    Suspension s(50);
    feed(s, 90, 0, 3);
    feed(s, 20, 4, 4); // back under before 5 s: the count starts again
    feed(s, 90, 5, 9);
    BOOST_TEST(!s.busy());
    feed(s, 90, 10, 10);
    BOOST_TEST(s.busy());
    feed(s, 5, 11, 19);
    feed(s, 70, 20, 20); // a moment busy again: the 10 s start again
    feed(s, 5, 21, 30);
    BOOST_TEST(s.busy());
    feed(s, 5, 31, 31);
    BOOST_TEST(!s.busy());
}

BOOST_AUTO_TEST_CASE(exactly_the_threshold_is_not_over_it) {
    Suspension s(50);
    feed(s, 50, 0, 60);
    BOOST_TEST(!s.busy());
}

BOOST_AUTO_TEST_CASE(not_watched_without_a_threshold) {
    Suspension s(0);
    feed(s, 100, 0, 60);
    BOOST_TEST(!s.suspended());
}

BOOST_AUTO_TEST_CASE(every_reason_is_named_and_resume_ends_only_the_users) {
    Suspension s(50);
    s.suspendByUser(0, 90'000);
    feed(s, 99, 0, 5);
    s.userActive(true);
    BOOST_TEST(s.describe(hhmm) ==
               "user until t90; busy (other processes at 99% > 50%); user active (logind)");
    s.resumeByUser();
    BOOST_TEST(s.suspended());
    BOOST_TEST(s.describe(hhmm) == "busy (other processes at 99% > 50%); user active (logind)");
    s.userActive(false);
    feed(s, 0, 6, 16);
    BOOST_TEST(!s.suspended());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(other_cpu)

BOOST_AUTO_TEST_CASE(proc_stat_busy_and_total) {
    auto t = parseProcStat("cpu  100 5 20 1000 7 1 2 3 9 9\ncpu0 1 1 1 1 1 1 1 1 0 0\n");
    BOOST_REQUIRE(t);
    BOOST_TEST(t->busy == 128u); // user nice system irq softirq (not steal)
    BOOST_TEST(t->total == 1138u);
    BOOST_TEST(!parseProcStat("cpu0 1 2 3 4\n"));
    BOOST_TEST(!parseProcStat("cpu  1 2\n"));
    BOOST_TEST(!parseProcStat(""));
}

BOOST_AUTO_TEST_CASE(the_units_own_time_is_not_other_processes) {
    std::string stat = procStat(0, 0);
    std::map<pid_t, std::uint64_t> units;
    OtherCpu cpu([&] { return stat; }, [&] { return units; });
    BOOST_TEST(!cpu.sample()); // nothing to compare with yet
    // 200 ticks: 120 busy, of which the unit used 90.
    stat = procStat(120, 80);
    units = {{42, 90}};
    auto p = cpu.sample();
    BOOST_REQUIRE(p);
    BOOST_TEST(*p == 15.0);
    // Next 200 ticks: 150 busy, the unit 40 more (a new unit 10): 100 other.
    stat = procStat(270, 130);
    units = {{42, 130}, {43, 10}};
    p = cpu.sample();
    BOOST_REQUIRE(p);
    BOOST_TEST(*p == 50.0);
    // The unit 42 ended: its ticks are gone, not negative.
    stat = procStat(300, 300);
    units = {{43, 20}};
    p = cpu.sample();
    BOOST_REQUIRE(p);
    BOOST_TEST(*p == 10.0);
}

BOOST_AUTO_TEST_CASE(an_unreadable_proc_stat_gives_no_measurement) {
    std::string stat;
    OtherCpu cpu([&] { return stat; }, [] { return std::map<pid_t, std::uint64_t>{}; });
    BOOST_TEST(!cpu.sample());
    BOOST_TEST(!cpu.sample());
    stat = procStat(10, 10);
    BOOST_TEST(!cpu.sample());
    stat = procStat(20, 20);
    BOOST_TEST(cpu.sample().value_or(-1) == 50.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(control_lines)

BOOST_AUTO_TEST_CASE(known_lines) {
    using Kind = ControlRequest::Kind;
    BOOST_TEST((parseControlLine("status")->kind == Kind::kStatus));
    BOOST_TEST((parseControlLine("status text")->kind == Kind::kStatusText));
    BOOST_TEST((parseControlLine("resume")->kind == Kind::kResume));
    auto s = parseControlLine("suspend");
    BOOST_TEST((s->kind == Kind::kSuspend));
    BOOST_TEST(!s->forMs);
    s = parseControlLine("suspend 1800");
    BOOST_TEST(s->forMs.value_or(0) == 1'800'000);
    BOOST_TEST(s->line() == "suspend 1800");
    BOOST_TEST(ControlRequest{Kind::kStatusText}.line() == "status text");
}

BOOST_AUTO_TEST_CASE(bad_lines_are_named) {
    BOOST_TEST(parseControlLine("suspend 30m").error() ==
               "suspend: '30m' is not a number of seconds from 1 to 315360000");
    BOOST_TEST(parseControlLine("suspend 0").error().starts_with("suspend: '0' is not"));
    BOOST_TEST(parseControlLine("suspend ").error().starts_with("suspend: '' is not"));
    BOOST_TEST(parseControlLine("halt\x01").error() ==
               "unknown request 'halt?' (known: status, status text, suspend [SECONDS], resume)");
    BOOST_TEST(!parseControlLine(""));
}

BOOST_AUTO_TEST_CASE(durations) {
    BOOST_TEST(parseDurationMs("90s").value_or(0) == 90'000);
    BOOST_TEST(parseDurationMs("30m").value_or(0) == 1'800'000);
    BOOST_TEST(parseDurationMs("2h").value_or(0) == 7'200'000);
    BOOST_TEST(parseDurationMs("1d").value_or(0) == 86'400'000);
    BOOST_TEST(parseDurationMs("600").value_or(0) == 600'000);
    for (auto bad : {"", "0", "-1m", "m", "1.5h", "30 m", "3w", "99999999999d"})
        BOOST_TEST(!parseDurationMs(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(logind)

// As loginctl 252 prints them.
constexpr const char* kSessions = "     2 1000 alice seat0 tty2\n"
                                  "    c1  120 gdm   seat0 tty1\n"
                                  "    17 1000 alice        \n";

BOOST_AUTO_TEST_CASE(session_ids_are_the_first_column) {
    BOOST_TEST(parseSessionIds(kSessions) == (std::vector<std::string>{"2", "c1", "17"}));
    BOOST_TEST(parseSessionIds("").empty());
    BOOST_TEST(parseSessionIds("../x 1 a\n").empty());
}

BOOST_AUTO_TEST_CASE(an_active_local_graphical_session_counts) {
    auto s = parseSession("Type=wayland\nRemote=no\nActive=yes\nIdleHint=no\n");
    BOOST_REQUIRE(s);
    BOOST_TEST(userActive(*s));
    s = parseSession("Type=wayland\nRemote=no\nActive=yes\nIdleHint=yes\n");
    BOOST_TEST(!userActive(*s)); // idle
    s = parseSession("Type=x11\nRemote=no\nActive=no\nIdleHint=no\n");
    BOOST_TEST(!userActive(*s)); // switched away
    s = parseSession("Type=tty\nRemote=yes\nActive=yes\nIdleHint=no\n");
    BOOST_TEST(!userActive(*s)); // ssh
    s = parseSession("Type=x11\nRemote=no\nActive=yes\nIdleHint=no\nClass=greeter\n");
    BOOST_REQUIRE(s.has_value());
    BOOST_TEST(!userActive(*s)); // a login screen: nobody's session
    s = parseSession("Type=x11\nRemote=no\nActive=yes\nIdleHint=no\nClass=user\n");
    BOOST_REQUIRE(s.has_value());
    BOOST_TEST(userActive(*s));
    s = parseSession("Type=unspecified\nRemote=no\nActive=yes\nIdleHint=no\n");
    BOOST_TEST(!userActive(*s)); // a service's session
    BOOST_TEST(!parseSession("Failed to get session: No such session\n"));
}

BOOST_AUTO_TEST_CASE(asked_through_loginctl) {
    std::vector<std::vector<std::string>> calls;
    UserActivity activity([&](const std::vector<std::string>& argv) -> std::optional<std::string> {
        calls.push_back(argv);
        if (argv.at(1) == "list-sessions")
            return std::string(kSessions);
        if (argv.at(2) == "c1")
            return std::string("Active=yes\nIdleHint=no\nType=x11\nRemote=no\n");
        return std::string("Active=no\nIdleHint=yes\nType=tty\nRemote=no\n");
    });
    BOOST_TEST((activity.check() == std::optional<bool>(true)));
    BOOST_TEST(calls.size() == 3u); // stops at the first active one
    BOOST_TEST(calls.at(1) == (std::vector<std::string>{"/usr/bin/loginctl", "show-session", "2",
                                                        "-p", "Active", "-p", "IdleHint", "-p",
                                                        "Type", "-p", "Remote", "-p", "Class"}));
}

BOOST_AUTO_TEST_CASE(no_logind_is_told_apart_from_nobody_active) {
    UserActivity none([](const std::vector<std::string>&) { return std::optional<std::string>(); });
    BOOST_TEST(!none.check().has_value());
    UserActivity empty(
        [](const std::vector<std::string>&) { return std::optional<std::string>(""); });
    BOOST_TEST((empty.check() == std::optional<bool>(false)));
}

BOOST_AUTO_TEST_CASE(a_missing_command_is_not_an_exception) {
    auto run = spawnCommand();
    BOOST_TEST(!run({"swarm-no-such-command-xyz"}));
    BOOST_TEST((run({"echo", "hi"}) == std::optional<std::string>("hi\n")));
    BOOST_TEST(!run({"false"}));
}

BOOST_AUTO_TEST_SUITE_END()

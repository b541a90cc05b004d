// Suspension end to end: the volunteer suspends a worker while its unit
// counts, the unit stops counting for the frozen seconds and goes on after
// resume, within a timeout shorter than its whole run (frozen time does not
// count); and a busy machine ([idle] max_other_cpu) suspends the worker
// until the other processes end. Real daemons, DHT, TLS, Podman and
// processes.

#include "swarm_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

using namespace swarm::e2e;
using namespace std::chrono_literals;

namespace {

// Waits until worker `name`'s first running unit has run for `ran`.
bool waitForUnitRunning(Swarm& s, const std::string& name, std::chrono::milliseconds ran,
                        std::chrono::milliseconds timeout) {
    return waitFor(
        [&] {
            auto st = s.workerStatus(name);
            auto at = st.find("\"elapsed_ms\":");
            return at != std::string::npos && std::stoll(st.substr(at + 13)) >= ran.count();
        },
        timeout);
}

constexpr int kTicks = 12;      // the unit's ticks, one a second
constexpr auto kFrozenFor = 8s; // how long the test keeps it suspended
constexpr int kTimeoutS = 17;   // shorter than ticks + frozen seconds

// One line "N EPOCH" per tick into out/ticks.
const char* kTicker = "i=0; while [ $i -lt {} ]; do i=$((i+1)); echo \"$i $(date +%s)\" >> "
                      "out/ticks; sleep 1; done";

// The epoch seconds of each tick in the file, in order.
std::vector<long> tickTimes(const std::filesystem::path& file) {
    std::istringstream in(readFile(file));
    std::vector<long> times;
    long n = 0, t = 0;
    while (in >> n >> t)
        times.push_back(t);
    return times;
}

// `swarm-worker ARGS` for the worker `name`, as its user.
RunResult worker(Swarm& s, const std::string& name, const std::vector<std::string>& args) {
    return s.runWorkerCommand(name, args, 20s);
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Suspends a worker (run as `options.user`) for kFrozenFor while its unit
// ticks, resumes it, and checks the ticks, the events and what the worker
// said; `method` begins the freeze method its status names.
void suspendWhileTicking(WorkerOptions options, const std::string& method) {
    Swarm s;
    const auto dir = s.root() / "tick";
    std::filesystem::create_directories(dir / "inputs");
    std::ofstream(dir / "inputs" / "a.txt") << "a\n";
    std::string command = kTicker;
    command.replace(command.find("{}"), 2, std::to_string(kTicks));
    std::ofstream(dir / "tick.toml")
        << "name = \"tick\"\n"
        << "image = \"localhost/swarm-test:latest\"\n"
        << "command = ['sh', '-c', '" << command << "']\n"
        << "inputs = \"inputs/*.txt\"\n"
        << "outputs = [\"out/ticks\"]\n"
        << "replicas = 1\nquorum = 1\ntimeout = \"" << kTimeoutS << "s\"\n";
    options.slots = 1;
    const auto id = s.createWorker("w", options);
    const auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "tick.toml").string(), "--out", (dir / "job").string()}, events);
    s.startWorker("w", options);
    WorkerStops stops{s, {"w"}};

    // A few ticks in, the volunteer suspends.
    BOOST_REQUIRE_MESSAGE(waitForUnitRunning(s, "w", 3000ms, 60s),
                          readFile(events.string() + ".log"));
    auto said = worker(s, "w", {"suspend"});
    BOOST_TEST_MESSAGE("swarm-worker suspend: " << said.out << said.err);
    BOOST_REQUIRE_EQUAL(said.status, 0);
    BOOST_TEST(said.out == "suspended: user\n");
    const auto suspendedAt = std::chrono::system_clock::now();
    auto status = s.workerStatus("w");
    BOOST_TEST(has(status, R"("suspended":true,"suspended_why":"user")"), status);
    BOOST_TEST(has(status, R"("freeze_method":")" + method), status);
    const auto table = worker(s, "w", {"status"}).out;
    BOOST_TEST_MESSAGE("swarm-worker status while suspended:\n" << table);
    BOOST_TEST(has(table, "\nsuspended  user\n"), table);
    BOOST_TEST(has(table, "\nfreeze     " + method), table);

    // The frozen time is what is measured here: a plain wait.
    std::this_thread::sleep_for(kFrozenFor);
    said = worker(s, "w", {"resume"});
    BOOST_TEST_MESSAGE("swarm-worker resume: " << said.out << said.err);
    BOOST_REQUIRE_EQUAL(said.status, 0);
    BOOST_TEST(said.out == "resumed\n");
    const auto frozen = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now() - suspendedAt)
                            .count();
    BOOST_TEST(has(s.workerStatus("w"), R"("suspended":false)"));

    auto rc = submit->wait(90s);
    if (!rc) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    BOOST_REQUIRE_MESSAGE(rc && *rc == 0, readFile(events.string() + ".log"));
    const auto times = tickTimes(dir / "job" / "results" / "a.txt" / "out" / "ticks");
    BOOST_REQUIRE_EQUAL(times.size(), static_cast<std::size_t>(kTicks));
    long longest = 0;
    for (std::size_t i = 1; i < times.size(); ++i)
        longest = std::max(longest, times[i] - times[i - 1]);
    BOOST_TEST_MESSAGE("longest gap between ticks: " << longest << " s; suspended for " << frozen
                                                     << " s; whole run "
                                                     << times.back() - times.front() << " s");
    // Frozen: no tick for (nearly) the whole suspension; then on to the end,
    // past the unit's timeout in wall time.
    BOOST_TEST(longest >= frozen - 2);
    BOOST_TEST(times.back() - times.front() + 1 > kTimeoutS);
    // One replica, on this worker, succeeded: no reissue, no failure.
    const auto assigned = eventsOf(events, "replica-assigned");
    BOOST_TEST(assigned.size() == 1u);
    for (const auto& e : eventsOf(events, "replica-ended")) {
        BOOST_TEST(field(e, "state") == "succeeded", e);
        BOOST_TEST(field(e, "worker") == id, e);
    }
    BOOST_TEST(eventsOf(events, "unit-valid").size() == 1u);
    const auto log = readFile(s.workerLog("w"));
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        if (has(line, "suspend") || has(line, "froze") || has(line, "thaw") || has(line, "resum"))
            BOOST_TEST_MESSAGE("log: " << line);
    BOOST_TEST(has(log, "suspending (user): freezing units by "), log);
    BOOST_TEST(has(log, "froze swarm-"), log);
    BOOST_TEST(has(log, "thawed swarm-"), log);
    BOOST_TEST(has(log, "resuming: thawing units"), log);
}

// The share of the whole machine busy over `span`, from /proc/stat (the
// test's own measurement, before it starts any load).
double machineBusyPercent(std::chrono::seconds span) {
    auto read = [] {
        std::istringstream in(readFile("/proc/stat"));
        std::string cpu;
        unsigned long long v[8] = {};
        in >> cpu;
        for (auto& x : v)
            in >> x;
        const auto idle = v[3] + v[4];
        unsigned long long total = 0;
        for (auto x : v)
            total += x;
        return std::pair{total - idle, total};
    };
    const auto [busy0, total0] = read();
    std::this_thread::sleep_for(span);
    const auto [busy1, total1] = read();
    return total1 > total0
               ? 100.0 * static_cast<double>(busy1 - busy0) / static_cast<double>(total1 - total0)
               : 0.0;
}

// These cases measure the machine's CPU: one busy with something else (a
// build, the test before) gets up to a minute to quieten down, 3 s at a
// time; then the case fails, saying why, rather than measure wrongly.
void requireQuietMachine() {
    double busy = 100;
    for (int i = 0; i < 20 && busy > 25; ++i)
        busy = machineBusyPercent(3s);
    BOOST_TEST_MESSAGE("machine busy before the case: " << busy << "%");
    if (busy > 25)
        BOOST_FAIL("the machine stayed busy (" << busy
                                               << "% over the last 3 s of a minute): this case "
                                                  "needs a quiet machine (run the integration "
                                                  "tests one at a time)");
}

// Sends `line` to a unix socket and returns all it answers (bounded).
std::string askSocket(const std::filesystem::path& path, const std::string& line) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
        char buf[512];
        for (int i = 0; i < 100 && out.size() < 4096; ++i) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0)
                break;
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return out;
}

// The status JSON's "suspended" flag.
bool suspended(Swarm& s, const std::string& name) {
    return has(s.workerStatus(name), R"("suspended":true)");
}

// Runs a unit spinning a core (forking `date` all the while, so its
// children's time counts too) on a worker with `[idle] max_other_cpu = 40`
// run as `user`, and checks that the worker never suspends meanwhile.
void spinOnIdleWorker(const std::string& user) {
    Swarm s;
    const auto dir = s.root() / "spin";
    std::filesystem::create_directories(dir / "inputs");
    std::ofstream(dir / "inputs" / "a.txt") << "a\n";
    std::ofstream(dir / "spin.toml")
        << "name = \"spin\"\n"
        << "image = \"localhost/swarm-test:latest\"\n"
        << "command = ['sh', '-c', 'end=$(($(date +%s)+15)); n=0; "
           "while [ $(date +%s) -lt $end ]; do n=$((n+1)); done; echo $n > out/n']\n"
        << "inputs = \"inputs/*.txt\"\n"
        << "outputs = [\"out/n\"]\n"
        << "replicas = 1\nquorum = 1\ntimeout = \"60s\"\n";
    requireQuietMachine();
    WorkerOptions options;
    options.slots = 1;
    options.user = user;
    options.config = "[idle]\nmax_other_cpu = 40\n";
    s.createWorker("w", options);
    const auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "spin.toml").string(), "--out", (dir / "job").string()}, events);
    s.startWorker("w", options);
    WorkerStops stops{s, {"w"}};
    std::string last;
    int sawRunning = 0;
    long long most = 0; // the highest share of other processes seen meanwhile
    std::string seen;
    std::optional<int> rc;
    for (int i = 0; i < 120 && !rc; ++i) { // at most about a minute
        last = s.workerStatus("w");
        BOOST_REQUIRE_MESSAGE(!has(last, R"("suspended":true)"), last);
        if (has(last, "\"elapsed_ms\":")) {
            ++sawRunning;
            most = std::max(most, numberField(last, "other_cpu_percent"));
            seen += " " + std::to_string(numberField(last, "other_cpu_percent"));
        }
        rc = submit->wait(500ms);
    }
    if (!rc) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    BOOST_TEST_MESSAGE("status seen " << sawRunning << " times with the unit running, other "
                                      << "processes at most at " << most << "%:" << seen);
    BOOST_REQUIRE_MESSAGE(rc && *rc == 0, readFile(events.string() + ".log"));
    BOOST_TEST(sawRunning >= 10);
}

} // namespace

BOOST_AUTO_TEST_SUITE(suspend)

// Rootful Podman pauses the container (the cgroup freezer).
BOOST_AUTO_TEST_CASE(a_suspended_unit_stops_counting_and_goes_on_after_resume) {
    suspendWhileTicking({}, "cgroup freezer (podman pause)");
}

// Rootless on cgroup v1 Podman cannot pause: the worker stops the unit's
// processes with SIGSTOP and continues them with SIGCONT.
BOOST_AUTO_TEST_CASE(a_rootless_workers_unit_is_stopped_by_signals) {
    WorkerOptions plain;
    plain.user = "swarmtest";
    suspendWhileTicking(plain, "SIGSTOP/SIGCONT of the unit's processes");
}

// `[idle] max_other_cpu`: a spinner on every core (bounded by timeout(1),
// ended by its pid) suspends the worker; once it ends the worker resumes.
// Also `suspend --for`, which ends by itself, and logind's absence, said.
BOOST_AUTO_TEST_CASE(a_busy_machine_suspends_the_worker_until_it_is_quiet) {
    Swarm s;
    WorkerOptions options;
    options.slots = 1;
    options.config = "[idle]\nmax_other_cpu = 40\nwhen_user_active = true\n";
    s.startWorker("w", options);
    WorkerStops stops{s, {"w"}};

    // A line the daemon does not know is answered with what it knows.
    const auto answer = askSocket(s.workerHome("w") / "worker.sock", "halt\n");
    BOOST_TEST(answer == "{\"error\":\"unknown request 'halt' (known: status, status text, "
                         "suspend [SECONDS], resume)\"}\n",
               answer);

    auto said = worker(s, "w", {"suspend", "--for", "3s"});
    BOOST_REQUIRE_EQUAL(said.status, 0);
    BOOST_TEST(said.out.starts_with("suspended: user until "), said.out);
    BOOST_TEST(has(s.workerStatus("w"), R"("suspended_why":"user until )"));
    BOOST_TEST(waitFor([&] { return !suspended(s, "w"); }, 15s));

    requireQuietMachine();
    BOOST_TEST(!suspended(s, "w"));

    const long cores = std::clamp(::sysconf(_SC_NPROCESSORS_ONLN), 1L, 8L);
    std::vector<std::unique_ptr<Child>> spinners;
    for (long i = 0; i < cores; ++i)
        spinners.push_back(std::make_unique<Child>(
            "/usr/bin/timeout",
            std::vector<std::string>{"60", "/bin/sh", "-c", "while :; do :; done"}));
    std::string status;
    const bool busy = waitFor(
        [&] {
            status = s.workerStatus("w");
            return has(status, R"("suspended":true)");
        },
        30s);
    for (auto& sp : spinners)
        sp->signal(SIGTERM); // timeout(1) ends its shell too
    for (auto& sp : spinners)
        BOOST_TEST(sp->wait(10s).has_value());
    BOOST_TEST_MESSAGE("status while busy: " << status);
    BOOST_REQUIRE(busy);
    BOOST_TEST(has(status, "\"suspended_why\":\"busy (other processes at "), status);
    BOOST_TEST(has(status, R"(% > 40%)"), status);

    // Quiet again for 10 s: resumed. Should something else keep the
    // machine busy meanwhile, say so rather than blame the worker.
    if (!waitFor([&] { return !suspended(s, "w"); }, 30s)) {
        status = s.workerStatus("w");
        const double after = machineBusyPercent(3s);
        BOOST_FAIL("still suspended 30 s after the spinners ended; the machine is "
                   << after << "% busy now"
                   << (after > 25 ? " (another workload: this case needs a quiet machine)" : "")
                   << "; status: " << status);
    }
    const auto log = readFile(s.workerLog("w"));
    BOOST_TEST(has(log, "suspending (busy (other processes at "), log);
    BOOST_TEST(has(log, "resuming: thawing units"), log);

    // No logind here (no systemd): said once, in the log and in status.
    status = s.workerStatus("w");
    const std::string noLogind = "logind not available: user activity not watched";
    if (has(status, noLogind)) {
        auto first = log.find(noLogind);
        BOOST_TEST(first != std::string::npos, log);
        BOOST_TEST(log.find(noLogind, first + 1) == std::string::npos, log);
    } else {
        BOOST_TEST(has(status, "\"user_activity\":\"watched (logind)\""), status);
    }
}

// A frozen unit still acts on a give-back: stopping a suspended worker
// thaws its unit first, so that the unit gets its SIGTERM, writes its
// checkpoint and goes back to its submitter with it (the same path as a
// schedule window closing).
BOOST_AUTO_TEST_CASE(a_suspended_workers_unit_is_given_back_with_its_checkpoint) {
    Swarm s;
    const auto dir = s.root() / "count";
    std::filesystem::create_directories(dir / "inputs");
    std::ofstream(dir / "inputs" / "a.txt") << "a\n";
    std::ofstream(dir / "count.toml")
        << "name = \"count\"\n"
        << "image = \"localhost/swarm-test:latest\"\n"
        << "command = ['sh', '-c', 'trap \"exit 143\" TERM; c=0; while [ $c -lt 60 ]; do "
           "sleep 1; c=$((c+1)); echo $c > ckpt/count.new && mv ckpt/count.new ckpt/count; "
           "done; echo $c > out/count']\n"
        << "inputs = \"inputs/*.txt\"\n"
        << "outputs = [\"out/count\"]\n"
        << "replicas = 1\nquorum = 1\ntimeout = \"120s\"\n";
    WorkerOptions options;
    options.slots = 1;
    const auto id = s.createWorker("w", options);
    const auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "count.toml").string(), "--out", (dir / "job").string()}, events);
    s.startWorker("w", options);
    BOOST_REQUIRE_MESSAGE(waitForUnitRunning(s, "w", 3000ms, 60s),
                          readFile(events.string() + ".log"));
    BOOST_REQUIRE_EQUAL(worker(s, "w", {"suspend"}).status, 0);
    BOOST_REQUIRE(waitFor([&] { return has(readFile(s.workerLog("w")), "froze swarm-"); }, 10s));

    const auto before = std::chrono::steady_clock::now();
    BOOST_TEST(s.stopWorker("w") == 0);
    const auto took = std::chrono::steady_clock::now() - before;
    BOOST_TEST_MESSAGE("stopping the suspended worker took "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms");
    BOOST_TEST(took < 20s); // not the give-back grace waited out on a frozen unit, then a kill
    const std::string back = waitForGiveBack(events, 30s);
    BOOST_REQUIRE_MESSAGE(!back.empty(), readFile(events.string() + ".log"));
    BOOST_TEST_MESSAGE("give-back: " << back);
    BOOST_TEST(field(back, "worker") == id, back);
    BOOST_TEST(numberField(back, "checkpoint_files") == 1, back);
    const auto log = readFile(s.workerLog("w"));
    BOOST_TEST(has(log, "thawed swarm-"), log);
    BOOST_TEST(!has(log, "did not exit within"), log); // it heard its SIGTERM
    submit->signal(SIGTERM);
    if (!submit->wait(30s)) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
}

// The worker's own units are not "other processes": a busy unit does not
// suspend the worker that runs it, rootful or rootless.
BOOST_AUTO_TEST_CASE(a_busy_unit_does_not_suspend_its_own_worker) {
    spinOnIdleWorker("");
}

BOOST_AUTO_TEST_CASE(a_busy_unit_does_not_suspend_its_own_rootless_worker) {
    spinOnIdleWorker("swarmtest");
}

BOOST_AUTO_TEST_SUITE_END()

// Suspension end to end: the volunteer suspends a worker while its unit
// counts, the unit stops counting for the frozen seconds and goes on after
// resume, within a timeout shorter than its whole run (frozen time does not
// count); and a busy machine ([idle] max_other_cpu) suspends the worker
// until the other processes end. Real daemons, DHT, TLS, Podman and
// processes.

#include "swarm_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

using namespace swarm::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kTicks = 12;      // the unit's ticks, one a second
constexpr auto kFrozenFor = 8s; // how long the test keeps it suspended
constexpr int kTimeoutS = 17;   // shorter than ticks + frozen seconds

// One line "N EPOCH" per tick into out/ticks.
const char* kTicker = "i=0; while [ $i -lt {} ]; do i=$((i+1)); echo \"$i $(date +%s)\" >> "
                      "out/ticks; sleep 1; done";

struct Stops {
    Swarm& s;
    std::vector<std::string> names;
    ~Stops() {
        for (const auto& n : names)
            s.stopWorker(n);
    }
};

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
    Stops stops{s, {"w"}};

    // A few ticks in, the volunteer suspends.
    BOOST_REQUIRE_MESSAGE(waitFor(
                              [&] {
                                  auto st = s.workerStatus("w");
                                  auto at = st.find("\"elapsed_ms\":");
                                  return at != std::string::npos &&
                                         std::stoll(st.substr(at + 13)) >= 3000;
                              },
                              60s),
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
    BOOST_TEST(has(log, "suspending (user): freezing units by "), log);
    BOOST_TEST(has(log, "resuming: thawing units"), log);
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

BOOST_AUTO_TEST_SUITE_END()

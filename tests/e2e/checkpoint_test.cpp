// Checkpoints and schedule windows end to end: a worker whose `[schedule]`
// window closes while it runs a counting unit gives the unit back with its
// checkpoint; another worker completes it from there. Real daemons, DHT,
// TLS and Podman.

#include "swarm_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

using namespace swarm::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kSteps = 20; // N: one step a second

// The contract of docs/user-guide.md ("Checkpoints"): count to N, one step
// a second, keeping the count in /work/ckpt/count (written whole, then
// renamed); start from /work/in/ckpt/count when a checkpoint came with the
// unit. Writes the final count and the steps this run did.
const char* kCounter = "trap \"exit 143\" TERM; n=$(cat {}); c=0; s=0; "
                       "if [ -f in/ckpt/count ]; then c=$(cat in/ckpt/count); fi; "
                       "while [ $c -lt $n ]; do sleep 1; c=$((c+1)); s=$((s+1)); "
                       "echo $c > ckpt/count.new && mv ckpt/count.new ckpt/count; done; "
                       "echo $c > out/count; echo $s > out/steps";

// `[schedule]` for a window open from a minute ago (or midnight) until
// `seconds` from now, local time, on today's key.
std::string windowClosingIn(int seconds) {
    const auto now = std::chrono::system_clock::now();
    auto local = [](std::chrono::system_clock::time_point t) {
        const std::time_t tt = std::chrono::system_clock::to_time_t(t);
        std::tm tm{};
        localtime_r(&tt, &tm);
        return tm;
    };
    const auto today = local(now);
    auto from = local(now - 60s);
    if (from.tm_mday != today.tm_mday)
        from = std::tm{}; // 00:00:00
    const auto to = local(now + std::chrono::seconds(seconds));
    static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    char line[64];
    std::snprintf(line, sizeof line, "%s = \"%02d:%02d:%02d-%02d:%02d:%02d\"\n",
                  kDays[today.tm_wday], from.tm_hour, from.tm_min, from.tm_sec, to.tm_hour,
                  to.tm_min, to.tm_sec);
    return std::string("[schedule]\n") + line;
}

int numberIn(const std::filesystem::path& file) {
    std::istringstream in(readFile(file));
    int n = -1;
    in >> n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(a_closing_window_gives_the_unit_back_and_another_worker_finishes_it) {
    Swarm s;
    const auto dir = s.root() / "count";
    std::filesystem::create_directories(dir / "inputs");
    std::ofstream(dir / "inputs" / "count.txt") << kSteps << "\n";
    std::ofstream(dir / "count.toml") << "name = \"count\"\n"
                                      << "image = \"localhost/swarm-test:latest\"\n"
                                      << "command = ['sh', '-c', '" << kCounter << "']\n"
                                      << "inputs = \"inputs/*.txt\"\n"
                                      << "outputs = [\"out/count\", \"out/steps\"]\n"
                                      << "replicas = 1\nquorum = 1\ntimeout = \"120s\"\n";
    // Both known to the submitter before it starts; "evening" computes only
    // until its window closes, about half way through the unit.
    WorkerOptions evening;
    evening.slots = 1;
    evening.config = windowClosingIn(16);
    BOOST_TEST_MESSAGE("evening's worker.toml:\n" << evening.config);
    const auto closing = s.createWorker("evening", evening);
    WorkerOptions always;
    always.slots = 1;
    const auto open = s.createWorker("always", always);
    const auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "count.toml").string(), "--out", (dir / "job").string()}, events);
    s.startWorker("evening", evening);
    WorkerStops stops{s, {"evening"}};
    auto status = s.workerStatus("evening");
    BOOST_TEST_MESSAGE("status while open:\n" << status);
    BOOST_TEST(status.find(R"("schedule":"open until )") != std::string::npos, status);
    BOOST_TEST(status.find(R"("schedule_open":true)") != std::string::npos, status);

    // The window closes: the unit comes back with its checkpoint.
    const std::string back = waitForGiveBack(events, 90s);
    BOOST_REQUIRE_MESSAGE(!back.empty(), readFile(events.string() + ".log"));
    BOOST_TEST_MESSAGE("give-back: " << back);
    BOOST_TEST(field(back, "worker") == closing, back);
    BOOST_TEST(numberField(back, "checkpoint_files") == 1, back);
    status = s.workerStatus("evening");
    BOOST_TEST_MESSAGE("status once closed:\n" << status);
    BOOST_TEST(status.find(R"("schedule":"closed until )") != std::string::npos, status);
    BOOST_TEST(status.find(R"("schedule_open":false)") != std::string::npos, status);
    BOOST_TEST(status.find(R"("running":[])") != std::string::npos, status);
    const auto table =
        runProgram(s.workerBinary, {"--home", s.workerHome("evening").string(), "status"}, 10s).out;
    BOOST_TEST_MESSAGE("swarm-worker status:\n" << table);
    BOOST_TEST(table.find("\nschedule   closed until ") != std::string::npos, table);

    // Another worker takes it from the checkpoint.
    s.startWorker("always", always);
    stops.names.push_back("always");
    auto rc = submit->wait(120s);
    if (!rc) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    BOOST_REQUIRE_MESSAGE(rc && *rc == 0, readFile(events.string() + ".log"));
    const auto result = dir / "job" / "results" / "count.txt";
    BOOST_TEST(numberIn(result / "out/count") == kSteps);
    const int stepsOfB = numberIn(result / "out/steps");
    BOOST_TEST_MESSAGE("steps done by the second worker: " << stepsOfB << " of " << kSteps);
    BOOST_TEST(stepsOfB > 0);
    BOOST_TEST(stepsOfB < kSteps * 3 / 4);
    for (const auto& e : eventsOf(events, "replica-ended"))
        BOOST_TEST(field(e, "state") == "given-back", e); // no error, nothing lost
    const auto valid = eventsOf(events, "unit-valid");
    BOOST_REQUIRE_EQUAL(valid.size(), 1u);
    BOOST_TEST(valid[0].find(open) != std::string::npos, valid[0]);
}

BOOST_AUTO_TEST_SUITE_END()

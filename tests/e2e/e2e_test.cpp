// End to end: real worker daemons and submitter runs as separate processes,
// real OpenDHT (a stock dhtnode as bootstrap), real TLS, real Podman.

#include "swarm_fixture.hpp"

#include "wire/bytes.hpp"
#include "wire/digest.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace swarm::e2e;
using namespace std::chrono_literals;

namespace {

// One swarm for the whole suite: starting worker daemons is the slow part.
std::unique_ptr<Swarm> gSwarm;

Swarm& theSwarm() {
    if (!gSwarm) {
        gSwarm = std::make_unique<Swarm>();
        for (const char* name : {"w1", "w2", "w3"})
            gSwarm->startWorker(name);
    }
    return *gSwarm;
}

struct TearDown {
    ~TearDown() { gSwarm.reset(); }
};
BOOST_TEST_GLOBAL_FIXTURE(TearDown);

// Writes `n` input files with known word counts; returns count by unit id.
std::map<std::string, int> makeInputs(const std::filesystem::path& dir, int n) {
    std::filesystem::create_directories(dir);
    std::map<std::string, int> words;
    for (int i = 0; i < n; ++i) {
        auto name = "part-" + std::to_string(100 + i) + ".txt";
        std::ofstream out(dir / name);
        int count = 0;
        for (int line = 0; line < 5 + i; ++line) {
            for (int w = 0; w <= line % 7; ++w) {
                out << "word" << (line * w) % 13 << ' ';
                ++count;
            }
            out << '\n';
        }
        words[name] = count;
    }
    return words;
}

std::filesystem::path writeJob(const std::filesystem::path& dir, const std::string& name,
                               const std::string& command, int replicas, int quorum,
                               const std::string& extra = "") {
    auto path = dir / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\n"
                        << "image = \"localhost/swarm-test:latest\"\n"
                        << "command = [\"sh\", \"-c\", \"" << command << "\"]\n"
                        << "inputs = \"inputs/*.txt\"\n"
                        << "outputs = [\"out/words\"]\n"
                        << "replicas = " << replicas << "\nquorum = " << quorum << "\n"
                        << "timeout = \"60s\"\n"
                        << extra;
    return path;
}

int wordsIn(const std::filesystem::path& file) {
    std::istringstream in(readFile(file));
    int n = -1;
    in >> n;
    return n;
}

// Every unit valid, each exactly once, with the right word count.
void checkResults(const std::filesystem::path& jobDir, const std::map<std::string, int>& words) {
    for (const auto& [unit, count] : words)
        BOOST_TEST(wordsIn(jobDir / "results" / unit / "out/words") == count, unit);
    auto summary = readFile(jobDir / "summary.json");
    BOOST_TEST(summary.find("\"failed\":0") != std::string::npos);
    BOOST_TEST(summary.find("\"valid\":" + std::to_string(words.size())) != std::string::npos);
}

// Asks `swarm-submit why DIR` every half second until a line starts with
// `reason` and the output holds `part`, or `timeout` passes; its last output.
std::string whyUntil(Swarm& s, const std::filesystem::path& dir, const std::string& reason,
                     const std::string& part, std::chrono::seconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = runProgram(s.submitBinary, {"why", dir.string()}, 30s);
        out = r.out + r.err;
        if (out.find("\n" + reason + " ") != std::string::npos &&
            out.find(part) != std::string::npos)
            return out;
        std::this_thread::sleep_for(500ms);
    }
    BOOST_TEST_MESSAGE("why never named " << reason << ": " << out);
    return out;
}

std::optional<int> waitExit(Child& c, std::chrono::seconds timeout) {
    auto st = c.wait(timeout);
    if (!st) {
        c.signal(SIGKILL);
        c.wait(10s);
    }
    return st;
}

bool waitForEvents(const std::filesystem::path& file, const std::string& event, std::size_t count,
                   std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (eventsOf(file, event).size() >= count)
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

// Waits until the submitter's events show a replica assigned to `worker`.
bool waitAssigned(const std::filesystem::path& events, const std::string& worker,
                  std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& e : eventsOf(events, "replica-assigned"))
            if (field(e, "worker") == worker)
                return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

const char* kWordCount = "sleep 0.2; wc -w < {} > out/words";

// Two further submitters, "a" and "b", and workers of their own that the
// suite's submitter and workers know nothing of: "shared" (two slots, trusts
// and is trusted by both, gives "a" three times "b"'s share) and "solo" (one
// slot, "a" only). Both workers' identities and trust are made at once,
// before either submitter starts (a submitter reads its trust list when it
// starts). Each test starts the workers it uses afresh and stops them
// (StopsWorker) however it ends.
void startOwnWorker(Swarm& s, const std::string& name) {
    static bool made = false;
    if (!made) {
        const auto a = s.addSubmitter("a");
        s.addSubmitter("b");
        WorkerOptions o;
        o.trustsSubmitter = false;
        o.trustedBySubmitter = false;
        o.slots = 2;
        o.submitters = {"a", "b"};
        o.config = "[shares]\n" + a + " = 300\n";
        s.createWorker("shared", o);
        o.config.clear();
        o.slots = 1;
        o.submitters = {"a"};
        s.createWorker("solo", o);
        made = true;
    }
    s.startWorker(name);
}

struct StopsWorker {
    Swarm& s;
    std::string name;
    ~StopsWorker() { s.stopWorker(name); }
};

// Runs `jobA` as submitter "a" until it has two results, then `jobB` as "b"
// to its end (bounded); outputs go to dir/a/job and dir/b/job.
struct AThenB {
    std::filesystem::path eventsA, eventsB;
    std::unique_ptr<Child> a;
    std::optional<int> statusB;
};
AThenB runAThenB(Swarm& s, const std::filesystem::path& dir, const std::filesystem::path& jobA,
                 const std::filesystem::path& jobB) {
    AThenB r{dir / "a-events.jsonl", dir / "b-events.jsonl", nullptr, std::nullopt};
    r.a = s.startSubmit({"run", jobA.string(), "--out", (dir / "a/job").string()}, r.eventsA, "a");
    BOOST_REQUIRE_MESSAGE(waitForEvents(r.eventsA, "result-received", 2, 120s),
                          readFile(r.eventsA.string() + ".log"));
    auto b =
        s.startSubmit({"run", jobB.string(), "--out", (dir / "b/job").string()}, r.eventsB, "b");
    r.statusB = waitExit(*b, 120s);
    return r;
}

std::string trimmed(std::string s) {
    s.erase(s.find_last_not_of(" \n") + 1);
    return s;
}

// Swarm containers on the suite's three workers.
std::size_t containersOnWorkers(Swarm& s) {
    std::size_t n = 0;
    for (const char* name : {"w1", "w2", "w3"})
        n += s.containersOf(s.workerId(name));
    return n;
}

// `swarm-submit ARGS` from the suite's submitter's home, to its end.
RunResult submitCommand(Swarm& s, std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", s.submitterHome().string()});
    return runProgram(s.submitBinary, args, 60s, s.env());
}

// Starts a batch of slow units and waits until containers run them.
std::unique_ptr<Child> startSlowBatch(Swarm& s, const std::filesystem::path& dir,
                                      const std::string& name, std::map<std::string, int>& words) {
    words = makeInputs(dir / "inputs", 6);
    auto job = writeJob(dir, name, "sleep 6; wc -w < {} > out/words", 2, 2);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    BOOST_REQUIRE_MESSAGE(waitForEvents(events, "replica-assigned", 4, 120s),
                          readFile(events.string() + ".log"));
    BOOST_REQUIRE(waitFor([&] { return containersOnWorkers(s) >= 2; }, 60s));
    return submit;
}

// After a cancel: no container left on the workers within a few seconds,
// the journal says so, and a resume completes the job with correct results.
void checkCancelledThenResume(Swarm& s, const std::filesystem::path& dir,
                              const std::map<std::string, int>& words) {
    BOOST_TEST(waitFor([&] { return containersOnWorkers(s) == 0; }, 10s));
    auto status = submitCommand(s, {"status", (dir / "job").string()});
    BOOST_TEST(status.status == 0, status.err);
    BOOST_TEST(status.out.find("cancelled by the researcher at ") != std::string::npos, status.out);
    auto jobs = submitCommand(s, {"jobs", "--json"});
    BOOST_TEST(jobs.out.find(R"(","state":"cancelled",)") != std::string::npos, jobs.out);
    auto again = dir / "events-resume.jsonl";
    auto resume = s.startSubmit({"resume", (dir / "job").string()}, again);
    auto rc = waitExit(*resume, 400s);
    BOOST_REQUIRE_MESSAGE(rc == 0, readFile(again.string() + ".log"));
    checkResults(dir / "job", words);
    jobs = submitCommand(s, {"jobs", "--json"});
    BOOST_TEST(jobs.out.find(R"(","state":"cancelled",)") == std::string::npos, jobs.out);
}

// The id of `reference` in the swarm's Podman; "" when there is none.
std::string imageIdOf(Swarm& s, const std::string& reference) {
    auto r = runProgram("/usr/bin/podman",
                        {"--url", s.env().at("CONTAINER_HOST"), "image", "inspect", "--format",
                         "{{.Id}}", reference},
                        60s);
    return r.status == 0 ? trimmed(r.out) : std::string();
}

// The name a worker gives the image of `archive` shipped by `submitter`
// (sandbox::shippedImageName).
std::string shippedName(const std::string& submitter, const std::filesystem::path& archive) {
    const auto digest = swarm::wire::sha256(swarm::wire::asBytes(readFile(archive)));
    return "localhost/swarm-shipped/" + submitter + ":" + digest.str().substr(7, 16);
}

// Takes `name` off the image it names in the swarm's Podman, however the
// test ends.
struct Untags {
    Swarm& s;
    std::string name;
    ~Untags() {
        runProgram("/usr/bin/podman", {"--url", s.env().at("CONTAINER_HOST"), "untag", name, name},
                   60s);
    }
};

// A Podman storage of a test's own (the podman command with --root): an
// image may take any tag there without moving it for anybody else.
struct OwnStorage {
    std::filesystem::path dir;
    RunResult podman(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--root", (dir / "storage").string(), "--runroot",
                                   (dir / "run").string(), "--storage-driver", "vfs"});
        return runProgram("/usr/bin/podman", args, 120s);
    }
    ~OwnStorage() { podman({"rmi", "-a", "-f"}); }
};

// Makes, in `own`, the swarm's image `tag` plus the file /shipped-marker,
// tagged `tag` there, and saves it as the docker-archive `archive` (which
// then carries `tag`). Returns its id.
std::string buildMarkedImage(Swarm& s, const OwnStorage& own, const std::string& tag,
                             const std::filesystem::path& archive) {
    const auto context = own.dir / "context";
    std::filesystem::create_directories(context);
    auto exported = runProgram("/usr/bin/podman",
                               {"--url", s.env().at("CONTAINER_HOST"), "save", "--format",
                                "docker-archive", "-o", (own.dir / "original.tar").string(), tag},
                               120s);
    BOOST_REQUIRE_MESSAGE(exported.status == 0, exported.err);
    std::ofstream(context / "marker") << "shipped\n";
    std::ofstream(context / "Containerfile") << "FROM " << tag << "\nCOPY marker /shipped-marker\n";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"load", "-q", "-i", (own.dir / "original.tar").string()},
             {"build", "-q", "--pull=never", "-t", tag, context.string()},
             {"save", "-q", "--format", "docker-archive", "-o", archive.string(), tag}}) {
        auto r = own.podman(args);
        BOOST_REQUIRE_MESSAGE(r.status == 0, args[0] << ": " << r.err);
    }
    const auto id = trimmed(own.podman({"image", "inspect", "--format", "{{.Id}}", tag}).out);
    BOOST_REQUIRE_EQUAL(id.size(), 64u);
    return id;
}

} // namespace

BOOST_AUTO_TEST_SUITE(end_to_end)

BOOST_AUTO_TEST_CASE(bad_job_files_fail_before_any_network) {
    auto& s = theSwarm();
    auto dir = s.root() / "bad";
    makeInputs(dir / "inputs", 2);
    struct Case {
        std::string text;
        std::string expect;
    };
    std::vector<Case> cases{
        {"command = [\"true\"]\ninputs = \"inputs/*.txt\"\n", "image"},
        {"image = \"localhost/x\"\ncommand = [\"true\"]\ninputs = \"inputs/*.txt\"\n"
         "replicas = 1\nquorum = 2\n",
         "quorum"},
        {"image = \"localhost/x\"\ncommand = [\"true\"]\ninputs = \"inputs/*.txt\"\n"
         "replicaz = 2\n",
         "replicaz"},
        {"image = \"localhost/x\"\ncommand = [\"true\"]\ninputs = \"nothing/*.dat\"\n",
         "nothing/*.dat"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        auto job = dir / ("bad" + std::to_string(i) + ".toml");
        std::ofstream(job) << cases[i].text;
        auto out = dir / ("out" + std::to_string(i));
        // An unreachable bootstrap: a run that got past the checks would hang.
        auto r = runProgram(s.submitBinary,
                            {"--home", s.submitterHome().string(), "run", job.string(), "--out",
                             out.string(), "--bootstrap", "127.0.0.1:9"},
                            20s, s.env());
        BOOST_TEST_CONTEXT("case " << i << ": " << r.err) {
            BOOST_TEST(r.status != 0);
            BOOST_TEST(r.err.find("bad" + std::to_string(i) + ".toml") != std::string::npos);
            BOOST_TEST(r.err.find(cases[i].expect) != std::string::npos);
            BOOST_TEST(!std::filesystem::exists(out));
        }
    }
    // A bad swarm name is refused before anything is written.
    auto job = dir / "good.toml";
    std::ofstream(job) << "image = \"localhost/x\"\ncommand = [\"true\"]\n"
                          "inputs = \"inputs/*.txt\"\n";
    auto out = dir / "out-swarm";
    auto r = runProgram(s.submitBinary,
                        {"--home", s.submitterHome().string(), "run", job.string(), "--out",
                         out.string(), "--bootstrap", "127.0.0.1:9", "--swarm", "Bad/Name"},
                        20s, s.env());
    BOOST_TEST(r.status != 0);
    BOOST_TEST(r.err.find("swarm name 'Bad/Name' is not valid") != std::string::npos, r.err);
    BOOST_TEST(!std::filesystem::exists(out));
}

BOOST_AUTO_TEST_CASE(demo_batch_validates_with_correct_outputs) {
    auto& s = theSwarm();
    auto dir = s.root() / "demo";
    auto words = makeInputs(dir / "inputs", 20);
    auto job = writeJob(dir, "demo", kWordCount, 2, 2);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    BOOST_TEST(eventsOf(events, "unit-valid").size() == words.size());
}

BOOST_AUTO_TEST_CASE(one_line_form_runs_a_unit_per_file) {
    auto& s = theSwarm();
    auto dir = s.root() / "oneline";
    auto words = makeInputs(dir / "inputs", 4);
    std::vector<std::string> args{
        "run",      "--image", "localhost/swarm-test:latest", "--replicas", "2",  "--quorum",
        "2",        "--out",   (dir / "job").string(),        "--",         "sh", "-c",
        kWordCount, ":::"};
    for (const auto& [name, count] : words)
        args.push_back((dir / "inputs" / name).string());
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(args, events);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    auto report =
        runProgram(s.submitBinary,
                   {"--home", s.submitterHome().string(), "status", (dir / "job").string()}, 20s);
    BOOST_TEST(report.status == 0);
    BOOST_TEST(report.out.find("4 valid, 0 failed") != std::string::npos, report.out);
}

BOOST_AUTO_TEST_CASE(killed_worker_units_are_reissued_and_restart_leaves_nothing) {
    auto& s = theSwarm();
    auto dir = s.root() / "kill-worker";
    auto words = makeInputs(dir / "inputs", 10);
    auto job = writeJob(dir, "killw", "sleep 2; wc -w < {} > out/words", 2, 2);
    auto events = dir / "events.jsonl";
    auto victim = s.workerId("w3");
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    // Kill w3 once it is running something.
    BOOST_REQUIRE(waitAssigned(events, victim, 60s));
    std::this_thread::sleep_for(500ms);
    s.killWorker("w3");
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    bool lost = false;
    for (const auto& e : eventsOf(events, "replica-ended"))
        lost = lost || (field(e, "worker") == victim && field(e, "state") == "lost");
    BOOST_TEST(lost);
    // Restarted, the worker removes what the killed one left (first thing
    // it does, right after its control socket opens).
    s.startWorker("w3");
    bool clean = false;
    for (int i = 0; i < 60 && !clean; ++i) {
        clean = s.containersOf(victim) == 0;
        if (!clean)
            std::this_thread::sleep_for(1s);
    }
    BOOST_TEST(clean);
}

BOOST_AUTO_TEST_CASE(stopped_worker_gives_its_units_back) {
    auto& s = theSwarm();
    auto dir = s.root() / "stop-worker";
    auto words = makeInputs(dir / "inputs", 8);
    auto job = writeJob(dir, "stopw", "sleep 3; wc -w < {} > out/words", 2, 2);
    auto events = dir / "events.jsonl";
    auto leaving = s.workerId("w2");
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    BOOST_REQUIRE(waitAssigned(events, leaving, 60s));
    // The busy worker re-announces its free slots (within ~3 s): a listing
    // shows it with fewer free than total.
    bool busyListed = false;
    for (int i = 0; i < 8 && !busyListed; ++i) {
        auto listing = s.listWorkers();
        auto at = listing.find("\"id\":\"" + leaving + "\"");
        auto slotsAt = listing.find("\"slots\":", at);
        auto freeAt = listing.find("\"free_slots\":", at);
        if (at != std::string::npos && slotsAt != std::string::npos && freeAt != std::string::npos)
            busyListed =
                std::stoi(listing.substr(freeAt + 13)) < std::stoi(listing.substr(slotsAt + 8));
        if (!busyListed)
            std::this_thread::sleep_for(1s);
    }
    BOOST_TEST(busyListed);
    BOOST_TEST(s.stopWorker("w2") == 0); // SIGTERM: clean exit
    BOOST_TEST(s.containersOf(leaving) == 0u);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    for (const auto& e : eventsOf(events, "replica-ended"))
        BOOST_TEST(!(field(e, "worker") == leaving && field(e, "state") == "lost"), e);
    auto summary = readFile(dir / "job/summary.json");
    BOOST_TEST(summary.find("\"worker\":\"" + leaving + "\",\"state\":\"given-back\"") !=
                   std::string::npos,
               summary);
    s.startWorker("w2");
}

BOOST_AUTO_TEST_CASE(killed_submitter_resumes_without_redoing_validated_units) {
    auto& s = theSwarm();
    auto dir = s.root() / "kill-submitter";
    auto words = makeInputs(dir / "inputs", 10);
    auto job = writeJob(dir, "kills", "sleep 1; wc -w < {} > out/words", 2, 2);
    auto first = dir / "events1.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, first);
    BOOST_REQUIRE(waitForEvents(first, "unit-valid", 3, 300s));
    submit->signal(SIGKILL);
    submit->wait(10s);
    auto validBefore = eventsOf(first, "unit-valid");
    BOOST_REQUIRE(validBefore.size() < words.size());

    // An input edited since the job started: resume refuses rather than
    // mix results of two versions, and names the file.
    auto edited = dir / "inputs" / words.begin()->first;
    auto original = readFile(edited);
    std::ofstream(edited, std::ios::app) << "one more\n";
    auto refusedEvents = dir / "events-refused.jsonl";
    auto refused = s.startSubmit({"resume", (dir / "job").string()}, refusedEvents);
    auto refusedStatus = waitExit(*refused, 60s);
    BOOST_TEST((refusedStatus && *refusedStatus != 0));
    auto why = readFile(refusedEvents.string() + ".log");
    BOOST_TEST_INFO("resume said: " << why);
    BOOST_TEST(why.find("input '" + words.begin()->first + "'") != std::string::npos);
    BOOST_TEST(why.find("changed since the job started") != std::string::npos);
    std::ofstream(edited, std::ios::trunc) << original;

    auto second = dir / "events2.jsonl";
    auto resume = s.startSubmit({"resume", (dir / "job").string()}, second);
    auto status = waitExit(*resume, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(second.string() + ".log"));
    checkResults(dir / "job", words);

    // No unit validated twice, and none validated before the kill handed out
    // again. (A unit can be validated without its event: the kill may land
    // between the journal's commit and the event line; the resumed run then
    // finds it valid in the journal, and checkResults saw its result.)
    std::multiset<std::string> validated;
    std::set<std::string> validFirst;
    for (const auto& e : validBefore) {
        validated.insert(field(e, "unit"));
        validFirst.insert(field(e, "unit"));
    }
    for (const auto& e : eventsOf(second, "unit-valid"))
        validated.insert(field(e, "unit"));
    for (const auto& [unit, count] : words)
        BOOST_TEST(validated.count(unit) <= 1u, unit);
    for (const auto& e : eventsOf(second, "replica-assigned"))
        BOOST_TEST(!validFirst.contains(field(e, "unit")), field(e, "unit"));
    // Budgets held: no unit was issued more than max_total_results (10).
    auto summary = readFile(dir / "job/summary.json");
    for (int n = 11; n < 40; ++n)
        BOOST_TEST(summary.find("\"attempts\":" + std::to_string(n)) == std::string::npos);
}

namespace {

// Results the workers hold for a killed submitter, summed over the suite's
// workers (`swarm-worker status`).
long long heldOnWorkers(Swarm& s) {
    long long n = 0;
    for (const char* name : {"w1", "w2", "w3"})
        n += numberField(s.workerStatus(name), "held");
    return n;
}

// Units running on the suite's workers now.
long long runningOnWorkers(Swarm& s) {
    long long n = 0;
    for (const char* name : {"w1", "w2", "w3"}) {
        const auto st = s.workerStatus(name);
        for (auto at = st.find("\"unit\":"); at != std::string::npos;
             at = st.find("\"unit\":", at + 1))
            ++n;
    }
    return n;
}

// A batch of slow units all running at once on the suite's slots (two
// units of two replicas: any two workers take all four); the
// submitter is kill -9ed once every replica is assigned, and the units
// finish on the workers, which keep their results. `betweenRuns` happens
// then. The resumed run takes the kept results: every unit validates with
// no replica assigned again, and no container is left.
void resumeTakesHeldResults(const std::string& name, const std::function<void()>& betweenRuns,
                            bool unitsFinishFirst = true, int stopSignal = SIGKILL) {
    auto& s = theSwarm();
    auto dir = s.root() / name;
    auto words = makeInputs(dir / "inputs", 2);
    // Ctrl-C keeps the sessions up for the 5 s in which a second one would
    // cancel: the units outlast that window.
    auto job = writeJob(dir, name,
                        stopSignal == SIGKILL ? "sleep 8; wc -w < {} > out/words"
                                              : "sleep 15; wc -w < {} > out/words",
                        2, 2);
    auto first = dir / "events1.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, first);
    BOOST_REQUIRE_MESSAGE(waitForEvents(first, "replica-assigned", 4, 120s),
                          readFile(first.string() + ".log"));
    // Killed once every assign reached its worker (an assign the journal
    // has but the kill kept from being sent is only reissued after its
    // lease).
    BOOST_REQUIRE_MESSAGE(waitFor([&] { return runningOnWorkers(s) == 4; }, 60s),
                          "running: " << runningOnWorkers(s));
    submit->signal(stopSignal);
    const auto stopped = submit->wait(30s);
    if (stopSignal == SIGINT)
        BOOST_TEST((stopped && *stopped == 130));
    BOOST_REQUIRE(eventsOf(first, "unit-valid").empty()); // stopped before any result came
    if (unitsFinishFirst)
        BOOST_REQUIRE_MESSAGE(waitFor([&] { return heldOnWorkers(s) == 4; }, 120s),
                              "held: " << heldOnWorkers(s));
    betweenRuns();

    auto second = dir / "events2.jsonl";
    auto resume = s.startSubmit({"resume", (dir / "job").string()}, second);
    auto status = waitExit(*resume, 300s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(second.string() + ".log"));
    checkResults(dir / "job", words);
    BOOST_TEST(eventsOf(second, "replica-assigned").empty());
    BOOST_TEST(eventsOf(second, "result-received").size() == 4u);
    BOOST_TEST(waitFor([&] { return heldOnWorkers(s) == 0; }, 30s));
    for (const char* w : {"w1", "w2", "w3"})
        BOOST_TEST(s.containersOf(s.workerId(w)) == 0u, w);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_resumed_submitter_gets_the_results_workers_held_for_it) {
    resumeTakesHeldResults("held", [] {});
}

// Resumed at once, while the killed run's units still run: the new session
// hears of them (progress) and takes each result as its unit ends.
BOOST_AUTO_TEST_CASE(a_submitter_resumed_while_its_units_run_takes_their_results) {
    resumeTakesHeldResults(
        "held-running", [] {}, false);
}

// Ctrl-C once: the run stops, its replicas stay in flight in the journal,
// the units run to their end on the workers, and the resume takes them.
BOOST_AUTO_TEST_CASE(a_run_stopped_with_ctrl_c_leaves_its_units_running_for_the_resume) {
    resumeTakesHeldResults(
        "held-ctrl-c", [] {}, true, SIGINT);
}

BOOST_AUTO_TEST_CASE(a_restarted_worker_still_holds_results_for_a_resumed_submitter) {
    auto& s = theSwarm();
    resumeTakesHeldResults("held-restart", [&s] {
        std::string holder = "w1";
        for (const char* w : {"w1", "w2", "w3"})
            if (numberField(s.workerStatus(w), "held") > 0)
                holder = w;
        const auto before = numberField(s.workerStatus(holder), "held");
        BOOST_TEST(before > 0);
        BOOST_TEST(s.stopWorker(holder) == 0);
        s.startWorker(holder);
        BOOST_TEST(numberField(s.workerStatus(holder), "held") == before);
    });
}

BOOST_AUTO_TEST_CASE(corrupting_worker_is_never_accepted) {
    auto& s = theSwarm();
    auto bad = s.startWorker("corrupt", WorkerOptions{.corrupt = true});
    auto dir = s.root() / "corrupt";
    auto words = makeInputs(dir / "inputs", 8);
    auto job = writeJob(dir, "corr", kWordCount, 2, 2);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    bool usedBad = false;
    for (const auto& e : eventsOf(events, "replica-assigned"))
        usedBad = usedBad || field(e, "worker") == bad;
    BOOST_TEST_MESSAGE("the corrupting worker got work: " << usedBad);
    for (const auto& e : eventsOf(events, "unit-valid"))
        BOOST_TEST(e.find(bad) == std::string::npos, "accepted a corrupt result: " << e);
    BOOST_TEST(s.stopWorker("corrupt") == 0);
}

BOOST_AUTO_TEST_CASE(untrusted_workers_never_run_units) {
    auto& s = theSwarm();
    auto stranger = s.startWorker("stranger", WorkerOptions{.trustedBySubmitter = false});
    auto loner = s.startWorker("loner", WorkerOptions{.trustsSubmitter = false});
    auto dir = s.root() / "trust";
    auto words = makeInputs(dir / "inputs", 8);
    auto job = writeJob(dir, "trust", "sleep 1; wc -w < {} > out/words", 1, 1);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    for (const auto& e : eventsOf(events, "replica-assigned")) {
        BOOST_TEST(field(e, "worker") != stranger);
        BOOST_TEST(field(e, "worker") != loner);
    }
    for (const char* name : {"stranger", "loner"}) {
        auto st = s.workerStatus(name);
        BOOST_TEST(st.find("\"done\":0") != std::string::npos, name << ": " << st);
        BOOST_TEST(st.find("\"submitters\":[]") != std::string::npos, name << ": " << st);
    }
    BOOST_TEST(s.stopWorker("stranger") == 0);
    BOOST_TEST(s.stopWorker("loner") == 0);
}

BOOST_AUTO_TEST_CASE(a_share_for_a_submitter_the_worker_does_not_trust_stops_it_at_start) {
    // A typo in [shares] would silently give that submitter the default
    // weight: the worker refuses to start and names the key.
    auto& s = theSwarm();
    auto home = s.root() / "typo-worker";
    BOOST_REQUIRE(runProgram(s.workerBinary, {"--home", home.string(), "init"}, 10s).status == 0);
    BOOST_REQUIRE(
        runProgram(s.workerBinary,
                   {"--home", home.string(), "trust", "add", s.submitterId(), "--name", "lab"}, 10s)
            .status == 0);
    std::ofstream(home / "worker.toml") << "[shares]\nlab = 300\nlba = 100\n";
    auto r =
        runProgram(s.workerBinary, {"--home", home.string(), "run", "--bootstrap", "127.0.0.1:9"},
                   30s, s.env());
    BOOST_TEST(r.status != 0);
    BOOST_TEST(r.err.find("shares: 'lba' is neither the alias nor the peer id") !=
                   std::string::npos,
               r.err);
}

// Every worker refuses an image outside its policy: the refusals do not
// burn the units' error budget (no unit fails), `why` names them per worker
// and for one unit, and the run waits until interrupted.
BOOST_AUTO_TEST_CASE(image_outside_the_workers_policy_is_refused) {
    auto& s = theSwarm();
    auto dir = s.root() / "policy";
    makeInputs(dir / "inputs", 2);
    auto job = dir / "policy.toml";
    std::ofstream(job) << "name = \"policy\"\nimage = \"docker.io/library/alpine:3\"\n"
                       << "command = [\"true\"]\ninputs = \"inputs/*.txt\"\n"
                       << "replicas = 1\nquorum = 1\nmax_errors = 0\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", job.string(), "--out", (dir / "job").string(), "--warn-after", "2s"}, events);
    // Each of the three workers refuses each unit once, then nobody is left.
    BOOST_REQUIRE(waitForEvents(events, "replica-ended", 6, 120s));
    auto out = whyUntil(s, dir / "job", "refused", "not allowed by this worker", 60s);
    BOOST_TEST(out.find("\nrefused ") != std::string::npos, out);
    BOOST_TEST_MESSAGE("swarm-submit why:\n" << out);
    auto unit = runProgram(s.submitBinary, {"why", (dir / "job").string(), "part-100.txt"}, 30s);
    BOOST_TEST(unit.status == 0, unit.err);
    BOOST_TEST_MESSAGE("swarm-submit why DIR part-100.txt:\n" << unit.out);
    BOOST_TEST(unit.out.find("refused      refused by the worker: ") != std::string::npos,
               unit.out);
    BOOST_TEST(unit.out.find("needs-more-workers") != std::string::npos, unit.out);
    // Two quiet seconds later the run warns, naming the refusals.
    BOOST_TEST(waitForEvents(events, "warning", 1, 30s));
    submit->signal(SIGINT);
    BOOST_TEST(waitExit(*submit, 60s).value_or(-1) == 130);
    BOOST_TEST(eventsOf(events, "unit-failed").empty()); // max_errors 0, yet nothing failed
    for (const auto& e : eventsOf(events, "replica-ended"))
        BOOST_TEST(field(e, "state") == "refused", e);
    auto warnings = eventsOf(events, "warning");
    BOOST_TEST((!warnings.empty() &&
                warnings[0].find("no progress for 2 s: refused: ") != std::string::npos),
               (warnings.empty() ? std::string() : warnings[0]));
}

BOOST_AUTO_TEST_CASE(shipped_image_archive_runs_on_workers) {
    auto& s = theSwarm();
    auto dir = s.root() / "archive";
    auto words = makeInputs(dir / "inputs", 4);
    auto archive = dir / "image.tar";
    auto saved =
        runProgram("/usr/bin/podman",
                   {"--url", s.env().at("CONTAINER_HOST"), "save", "--format", "docker-archive",
                    "-o", archive.string(), "localhost/swarm-test:latest"},
                   120s);
    BOOST_REQUIRE_MESSAGE(saved.status == 0, saved.err);
    // The workers name the loaded image (the suite's own) for the submitter
    // that shipped it: take that name off again afterwards.
    Untags untags{s, shippedName(s.submitterId(), archive)};
    auto job = dir / "archive.toml";
    std::ofstream(job) << "name = \"archive\"\n"
                       << "image_archive = \"image.tar\"\n"
                       << "command = [\"sh\", \"-c\", \"" << kWordCount << "\"]\n"
                       << "inputs = \"inputs/*.txt\"\n"
                       << "outputs = [\"out/words\"]\n"
                       << "replicas = 2\nquorum = 2\ntimeout = \"60s\"\n";
    // Each worker loads the archive once for the job's session, however
    // many of its units it runs (worker/session_images.hpp).
    auto loads = [&](const std::string& name) {
        auto log = readFile(s.workerLog(name));
        std::size_t n = 0;
        for (auto at = log.find("loaded image "); at != std::string::npos;
             at = log.find("loaded image ", at + 1))
            ++n;
        return n;
    };
    std::map<std::string, std::size_t> before;
    for (const auto& name : s.workerNames())
        before[name] = loads(name);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto status = waitExit(*submit, 400s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    std::map<std::string, std::size_t> ranUnits;
    for (const auto& e : eventsOf(events, "replica-assigned"))
        ++ranUnits[field(e, "worker")];
    std::size_t loaded = 0;
    for (const auto& name : s.workerNames()) {
        auto n = loads(name) - before[name];
        BOOST_TEST(n <= 1u, name << " loaded the archive " << n << " times in one session");
        loaded += n;
    }
    BOOST_TEST(loaded >= 2u); // replicas = 2: at least two workers loaded it
    std::size_t most = 0;
    for (const auto& [worker, n] : ranUnits)
        most = std::max(most, n);
    BOOST_TEST(most >= 2u); // some worker ran several units on one load
}

BOOST_AUTO_TEST_CASE(moved_tag_does_not_mix_images_within_a_session) {
    // A worker resolves an image once per session: after the volunteer
    // moves the tag mid-batch, each session keeps running the image it
    // started with (docs/sandbox.md, Images).
    auto& s = theSwarm();
    auto dir = s.root() / "moved-tag";
    std::filesystem::create_directories(dir / "context");
    const std::string tag = "localhost/swarm-moved:test";
    const std::string podmanUrl = s.env().at("CONTAINER_HOST");
    std::vector<std::string> built;
    struct RemoveImages { // whatever happens below
        const std::string& url;
        const std::string& tag;
        std::vector<std::string>& ids;
        ~RemoveImages() {
            std::vector<std::string> args{"--url", url, "rmi", "-f", tag};
            args.insert(args.end(), ids.begin(), ids.end());
            runProgram("/usr/bin/podman", args, 60s);
        }
    } removeImages{podmanUrl, tag, built};
    auto build = [&](const std::string& version) {
        std::ofstream(dir / "context" / "version") << version << '\n';
        std::ofstream(dir / "context" / "Containerfile")
            << "FROM localhost/swarm-test:latest\nCOPY version /version\n";
        auto b = runProgram(
            "/usr/bin/podman",
            {"--url", podmanUrl, "build", "-q", "-t", tag, (dir / "context").string()}, 120s);
        BOOST_REQUIRE_MESSAGE(b.status == 0, b.err);
        std::istringstream out(b.out);
        std::string id;
        while (out >> id) // the image id is the last word printed
            ;
        built.push_back(id);
    };
    auto nowMs = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    build("1");
    makeInputs(dir / "inputs", 18); // three waves over the fixture's six slots
    auto job = dir / "moved.toml";
    std::ofstream(job) << "name = \"moved\"\nimage = \"" << tag << "\"\n"
                       << "command = [\"sh\", \"-c\", \"cat /version > out/v; sleep 2\"]\n"
                       << "inputs = \"inputs/*.txt\"\noutputs = [\"out/v\"]\n"
                       << "replicas = 1\nquorum = 1\ntimeout = \"60s\"\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    BOOST_REQUIRE(waitForEvents(events, "unit-valid", 1, 120s));
    const auto moveStartMs = nowMs();
    build("2");
    const auto movedMs = nowMs();
    auto status = waitExit(*submit, 300s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));

    // The last assignment of each unit: which worker ran it, and when.
    std::map<std::string, std::pair<std::string, long long>> ranOn;
    for (const auto& e : eventsOf(events, "replica-assigned"))
        ranOn[field(e, "unit")] = {field(e, "worker"), numberField(e, "time_ms")};
    BOOST_TEST(ranOn.size() == 18u);
    struct Seen {
        std::set<std::string> versions;
        bool before = false, after = false;
    };
    std::map<std::string, Seen> workers;
    for (const auto& [unit, where] : ranOn) {
        auto& w = workers[where.first];
        w.versions.insert(readFile(dir / "job" / "results" / unit / "out/v"));
        w.before = w.before || where.second < moveStartMs;
        w.after = w.after || where.second > movedMs;
    }
    std::size_t spanning = 0; // sessions with units on both sides of the move
    for (const auto& [worker, w] : workers) {
        BOOST_TEST(w.versions.size() == 1u, worker << " ran " << w.versions.size() << " images");
        spanning += w.before && w.after;
    }
    BOOST_TEST(spanning > 0u);
}

BOOST_AUTO_TEST_CASE(a_submitter_with_no_work_left_lends_the_worker_to_another) {
    // "a" can never finish: each unit needs two agreeing replicas from two
    // workers, and "a" trusts one. Once that worker has run one replica of
    // each unit, "a" has nothing more for it and must hand the worker's
    // slots back, so that "b" can use them while "a" waits.
    auto& s = theSwarm();
    startOwnWorker(s, "shared");
    StopsWorker stops{s, "shared"};
    auto dir = s.root() / "lend";
    makeInputs(dir / "a/inputs", 2);
    auto words = makeInputs(dir / "b/inputs", 3);
    auto jobA = writeJob(dir / "a", "lend-a", kWordCount, 2, 2);
    auto jobB = writeJob(dir / "b", "lend-b", kWordCount, 1, 1);
    auto run = runAThenB(s, dir, jobA, jobB);
    BOOST_TEST(run.a->running()); // still waiting for a second worker
    BOOST_TEST(eventsOf(run.eventsA, "unit-valid").empty());
    BOOST_REQUIRE_MESSAGE(run.statusB == 0, readFile(run.eventsB.string() + ".log") +
                                                readFile(s.workerLog("shared")));
    checkResults(dir / "b/job", words);
    run.a->signal(SIGINT);
    BOOST_TEST(waitExit(*run.a, 30s).has_value());
    BOOST_TEST(s.stopWorker("shared") == 0);
}

BOOST_AUTO_TEST_CASE(two_submitters_share_a_worker) {
    // "a" has the worker to itself and work for a while; "b" comes with two
    // units. Nothing running is taken from "a", but the next slot that
    // frees goes to "b": "a" weighs three times "b" (2 slots: shares of 2
    // and 1), yet "b" holds nothing and comes first. "b" is done long
    // before "a" (28 one-second units), not after it.
    auto& s = theSwarm();
    startOwnWorker(s, "shared");
    StopsWorker stops{s, "shared"};
    auto dir = s.root() / "share";
    auto wordsA = makeInputs(dir / "a/inputs", 28);
    auto wordsB = makeInputs(dir / "b/inputs", 2);
    auto jobA = writeJob(dir / "a", "share-a", "sleep 1; wc -w < {} > out/words", 1, 1);
    const auto logFrom = readFile(s.workerLog("shared")).size(); // this run's lines only
    auto jobB = writeJob(dir / "b", "share-b", kWordCount, 1, 1);
    auto run = runAThenB(s, dir, jobA, jobB);
    const auto validA = eventsOf(run.eventsA, "unit-valid").size();
    BOOST_TEST(run.a->running());
    BOOST_TEST(validA < wordsA.size());
    BOOST_REQUIRE_MESSAGE(run.statusB == 0, readFile(run.eventsB.string() + ".log"));
    checkResults(dir / "b/job", wordsB);
    auto statusA = waitExit(*run.a, 300s);
    BOOST_REQUIRE_MESSAGE(statusA == 0, readFile(run.eventsA.string() + ".log"));
    checkResults(dir / "a/job", wordsA);
    // The weights came from the worker's [shares] (by peer id) and the
    // default.
    const auto log = readFile(s.workerLog("shared")).substr(logFrom);
    BOOST_TEST(log.find("weight 300)") != std::string::npos);
    BOOST_TEST(log.find("weight 100)") != std::string::npos);
    BOOST_TEST(s.stopWorker("shared") == 0);
}

BOOST_AUTO_TEST_CASE(a_submitter_tells_a_worker_it_sent_away_when_there_is_work_again) {
    // "shared" joins when "a" has one unit left to hand out: it takes it and
    // is told there is no work for its second slot. Then "solo" stops and
    // gives its unit back: "a" must tell "shared", which had no reason to
    // ask again, that there is work for it now.
    auto& s = theSwarm();
    startOwnWorker(s, "solo");
    StopsWorker stopsSolo{s, "solo"};
    auto dir = s.root() / "ready";
    auto words = makeInputs(dir / "inputs", 2);
    auto job = writeJob(dir, "ready", "sleep 20; wc -w < {} > out/words", 1, 1);
    auto events = dir / "events.jsonl";
    auto a = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events, "a");
    BOOST_REQUIRE(waitAssigned(events, s.workerId("solo"), 60s));
    const auto logFrom = readFile(s.workerLog("shared")).size(); // this run's lines only
    startOwnWorker(s, "shared");
    StopsWorker stopsShared{s, "shared"};
    BOOST_REQUIRE(waitAssigned(events, s.workerId("shared"), 60s));
    BOOST_TEST(s.stopWorker("solo") == 0); // gives its unit back
    auto status = waitExit(*a, 120s);
    BOOST_REQUIRE_MESSAGE(status == 0, readFile(events.string() + ".log"));
    checkResults(dir / "job", words);
    auto summary = readFile(dir / "job/summary.json");
    BOOST_REQUIRE_MESSAGE(summary.find("\"worker\":\"" + s.workerId("solo") +
                                       "\",\"state\":\"given-back\"") != std::string::npos,
                          summary);
    BOOST_TEST(readFile(s.workerLog("shared")).substr(logFrom).find("has work again") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_shipped_archive_never_moves_a_tag_on_the_worker) {
    // Submitter "a" ships an archive of another image (one more file,
    // /shipped-marker) that carries the tag everyone else uses. Its unit
    // runs that image, but on the worker the tag still names the original,
    // and submitter "b", naming the tag, runs the original.
    auto& s = theSwarm();
    const std::string tag = "localhost/swarm-test:latest";
    const auto url = s.env().at("CONTAINER_HOST");
    const auto original = imageIdOf(s, tag);
    BOOST_REQUIRE_EQUAL(original.size(), 64u);
    const auto dir = s.root() / "shipped-tag";
    std::filesystem::create_directories(dir / "a");
    OwnStorage own{dir / "own"};
    std::string shipped;
    struct Restores { // whatever happens below; runs after the worker stopped
        std::function<void()> run;
        ~Restores() { run(); }
    } restores{[&] {
        if (imageIdOf(s, tag) != original) // only if the worker moved it
            runProgram("/usr/bin/podman", {"--url", url, "tag", original, tag}, 60s);
        if (!shipped.empty())
            runProgram("/usr/bin/podman", {"--url", url, "rmi", "-f", shipped}, 60s);
    }};
    shipped = buildMarkedImage(s, own, tag, dir / "a/image.tar");
    BOOST_REQUIRE_NE(shipped, original);

    startOwnWorker(s, "shared");
    StopsWorker stops{s, "shared"};
    const std::string probe =
        "cat {} > /dev/null; if [ -e /shipped-marker ]; then echo shipped; else echo original; "
        "fi > out/words";
    const auto unit = makeInputs(dir / "a/inputs", 1).begin()->first;
    makeInputs(dir / "b/inputs", 1);
    std::ofstream(dir / "a/ship.toml") << "name = \"ship\"\nimage_archive = \"image.tar\"\n"
                                       << "command = [\"sh\", \"-c\", \"" << probe << "\"]\n"
                                       << "inputs = \"inputs/*.txt\"\noutputs = [\"out/words\"]\n"
                                       << "replicas = 1\nquorum = 1\ntimeout = \"60s\"\n";
    auto runAs = [&](const std::string& submitter, const std::filesystem::path& job) {
        const auto events = dir / submitter / "events.jsonl";
        auto submit = s.startSubmit(
            {"run", job.string(), "--out", (dir / submitter / "job").string()}, events, submitter);
        auto status = waitExit(*submit, 180s);
        BOOST_REQUIRE_MESSAGE(status == 0,
                              readFile(events.string() + ".log") + readFile(s.workerLog("shared")));
        return readFile(dir / submitter / "job/results" / unit / "out/words");
    };
    BOOST_TEST(runAs("a", dir / "a/ship.toml") == "shipped\n"); // "a" ran its own image
    BOOST_TEST(imageIdOf(s, tag) == original);
    // The shipped image is named only in the worker's namespace, by owner
    // and archive digest.
    const auto names =
        runProgram("/usr/bin/podman",
                   {"--url", url, "image", "inspect", "--format", "{{.RepoTags}}", shipped}, 60s);
    BOOST_TEST(trimmed(names.out) ==
               "[" + shippedName(s.submitterIdOf("a"), dir / "a/image.tar") + "]");
    BOOST_TEST(runAs("b", writeJob(dir / "b", "tagged", probe, 1, 1)) == "original\n");
    BOOST_TEST(s.stopWorker("shared") == 0);
}

BOOST_AUTO_TEST_CASE(cancel_stops_a_running_batch_and_resume_completes_it) {
    auto& s = theSwarm();
    auto dir = s.root() / "cancel";
    std::map<std::string, int> words;
    auto submit = startSlowBatch(s, dir, "cancelled", words);
    auto r = submitCommand(s, {"cancel", (dir / "job").string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("cancelled: "), r.out);
    BOOST_TEST(r.out.find(" stopped on ") != std::string::npos, r.out);
    auto rc = waitExit(*submit, 30s);
    BOOST_TEST((rc && *rc == 130));
    auto log = readFile((dir / "events.jsonl").string() + ".log");
    BOOST_TEST(log.find(trimmed(r.out)) != std::string::npos, log);
    BOOST_TEST(eventsOf(dir / "events.jsonl", "job-cancelled").size() == 1u);
    BOOST_TEST(!std::filesystem::exists(dir / "job/control.sock"));
    checkCancelledThenResume(s, dir, words);
}

BOOST_AUTO_TEST_CASE(ctrl_c_twice_cancels_the_units) {
    auto& s = theSwarm();
    auto dir = s.root() / "ctrl-c";
    std::map<std::string, int> words;
    auto submit = startSlowBatch(s, dir, "ctrlc", words);
    submit->signal(SIGINT);
    const auto log = (dir / "events.jsonl").string() + ".log";
    BOOST_REQUIRE(
        waitFor([&] { return readFile(log).find("stopping:") != std::string::npos; }, 10s));
    submit->signal(SIGINT);
    auto rc = waitExit(*submit, 30s);
    BOOST_TEST((rc && *rc == 130));
    const auto said = readFile(log);
    BOOST_TEST(said.find("stopping: units keep running on the workers; Ctrl-C again within 5 s "
                         "cancels them") != std::string::npos,
               said);
    BOOST_TEST(said.find("cancelled: ") != std::string::npos, said);
    checkCancelledThenResume(s, dir, words);
}

BOOST_AUTO_TEST_CASE(logs_show_stderr_of_finished_and_errored_replicas) {
    auto& s = theSwarm();
    auto dir = s.root() / "logs";
    makeInputs(dir / "inputs", 2);
    // part-100 exits 3 (a result, with exit code 3); part-101 runs past
    // the timeout (an error, whose logs the journal now keeps too).
    auto job = writeJob(dir, "logs",
                        "echo out-$(basename {}); echo oops-$(basename {}) >&2; case {} in "
                        "*100*) exit 3;; esac; sleep 60",
                        1, 1, "max_errors = 0\nmax_total_results = 1\n");
    {
        // The writer's 60s timeout, shortened for the errored unit.
        auto text = readFile(job);
        text.replace(text.find("timeout = \"60s\""), 15, "timeout = \"3s\"");
        std::ofstream(job, std::ios::trunc) << text;
    }
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    auto rc = waitExit(*submit, 120s);
    BOOST_REQUIRE_MESSAGE(rc == 1, readFile(events.string() + ".log"));
    const auto jobDir = (dir / "job").string();

    auto r = submitCommand(s, {"logs", jobDir, "part-100.txt"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find(", exit code 3 <==\n--- stdout ---\nout-part-100.txt\n--- stderr "
                          "---\noops-part-100.txt\n") != std::string::npos,
               r.out);
    r = submitCommand(s, {"logs", jobDir, "part-101.txt", "--replica", "0"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("==> unit part-101.txt, replica 0, worker "), r.out);
    BOOST_TEST(r.out.find(": errored, ") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("--- stderr ---\noops-part-101.txt\n") != std::string::npos, r.out);

    r = submitCommand(s, {"logs", jobDir, "nope"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'nope' in job " + jobDir + "\n");
    r = submitCommand(s, {"cancel", jobDir});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err.starts_with("swarm-submit: error: job " + jobDir + " is finished ("), r.err);
    BOOST_TEST(r.err.find('\n') == r.err.size() - 1, r.err);
}

// logs --follow: a unit that prints a line a second. A follower started
// while it runs sees its first line before the unit ended, then every line,
// the replica's end, and exits 0. Once no run holds the job, --follow shows
// the finished logs and says there is nothing to follow; an unknown unit is
// one line of error.
BOOST_AUTO_TEST_CASE(logs_follow_streams_a_running_unit) {
    auto& s = theSwarm();
    auto dir = s.root() / "follow";
    makeInputs(dir / "inputs", 1);
    auto job = writeJob(dir, "follow",
                        "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 1; done; echo "
                        "finished >&2; wc -w < {} > out/words",
                        1, 1);
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    BOOST_REQUIRE_MESSAGE(waitForEvents(events, "replica-assigned", 1, 120s),
                          readFile(events.string() + ".log"));
    const auto jobDir = (dir / "job").string();
    const auto out = dir / "follow.out";
    const auto started = std::chrono::steady_clock::now();
    auto follow = s.startSubmitPlain({"logs", jobDir, "part-100.txt", "--follow"}, out);
    BOOST_REQUIRE_MESSAGE(
        waitFor([&] { return readFile(out).find("line 1\n") != std::string::npos; }, 60s),
        readFile(out) + readFile(out.string() + ".log"));
    const auto firstLine = std::chrono::steady_clock::now();
    // The unit still runs: its result has not come, its last line not either.
    BOOST_TEST(eventsOf(events, "result-received").empty());
    BOOST_TEST(readFile(out).find("line 8") == std::string::npos, readFile(out));

    BOOST_REQUIRE(
        waitFor([&] { return readFile(out).find("line 8\n") != std::string::npos; }, 60s));
    const auto lastLine = std::chrono::steady_clock::now();
    auto rc = waitExit(*follow, 60s);
    const auto said = readFile(out);
    // For the record, not asserted: the lines arrive as printed, a second
    // apart, so the last comes about seven seconds after the first.
    auto ms = [](auto d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    BOOST_TEST_MESSAGE("follow: line 1 after " << ms(firstLine - started) << " ms, line 8 "
                                               << ms(lastLine - firstLine) << " ms later");
    BOOST_TEST((rc && *rc == 0), said + readFile(out.string() + ".log"));
    BOOST_TEST(said.starts_with("==> unit part-100.txt, replica 0, worker "), said);
    std::size_t at = 0;
    for (int i = 1; i <= 8; ++i) {
        const auto line = "\nline " + std::to_string(i) + "\n";
        const auto found = said.find(line, at);
        BOOST_TEST(found != std::string::npos, line << " in order in " << said);
        at = found == std::string::npos ? at : found + 1;
    }
    BOOST_TEST(said.ends_with("==> unit part-100.txt, replica 0: succeeded, exit code 0 <==\n"),
               said);
    BOOST_TEST(readFile(out.string() + ".log") == "finished\n"); // the unit's stderr
    BOOST_TEST_MESSAGE("logs --follow printed:\n" << said);
    BOOST_TEST((waitExit(*submit, 60s) == 0));

    auto r = submitCommand(s, {"logs", jobDir, "part-100.txt", "--follow"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find("--- stdout ---\nline 1\n") != std::string::npos, r.out);
    BOOST_TEST_MESSAGE("logs --follow with no run:\n" << r.out << r.err);
    BOOST_TEST(r.err == "nothing to follow: no run of " + jobDir +
                            " is live ('swarm-submit resume " + jobDir + "' continues it)\n",
               r.err);
    r = submitCommand(s, {"logs", jobDir, "nope", "--follow"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'nope' in job " + jobDir + "\n");
}

// Staged runs that cannot progress, each for a reason of its own: `why`
// names it while the run waits, and the run warns on stderr. Each run is
// interrupted once `why` answered.
BOOST_AUTO_TEST_CASE(why_names_what_blocks_a_run) {
    auto& s = theSwarm();
    const auto ghost = s.createWorker(
        "ghost", WorkerOptions{.trustsSubmitter = false, .trustedBySubmitter = false});
    s.addSubmitter("outsider");
    s.submitterTrusts(ghost, "outsider"); // a worker that never runs: none it trusts is found
    struct Staged {
        std::string name;
        std::string reason; // the first reason `why` names
        std::string part;   // a fact it states
        std::vector<std::string> flags;
        std::string submitter;
        std::string extra;  // job file lines
        bool plain = false; // without --json and the suite's network flags
    };
    const std::vector<Staged> cases{
        {"nobootstrap",
         "no-bootstrap",
         "bootstrap 127.0.0.1:9 does not answer",
         {"--listen", "127.0.0.9:0", "--dht-address", "127.0.0.1", "--bootstrap", "127.0.0.1:9"},
         "",
         "",
         true},
        {"outsider", "no-trusted-worker", "untrusted", {}, "outsider", ""},
        {"unreachable",
         "unreachable",
         "cannot reach this run at 127.0.0.1:9",
         {"--advertise", "127.0.0.1:9"},
         "",
         ""},
        {"unmet",
         "unmet-requirements",
         "found meets the job's requirements",
         {},
         "",
         "[requirements]\narch = [\"s390x\"]\n"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT("case " << c.name) {
            auto dir = s.root() / ("why-" + c.name);
            makeInputs(dir / "inputs", 1);
            auto job = writeJob(dir, c.name, kWordCount, 1, 1, c.extra);
            std::vector<std::string> args{
                "run", job.string(), "--out", (dir / "job").string(), "--warn-after", "2s"};
            args.insert(args.end(), c.flags.begin(), c.flags.end());
            auto out = dir / "out.txt";
            auto submit = c.plain ? s.startSubmitPlain(args, out, c.submitter)
                                  : s.startSubmit(args, out, c.submitter);
            auto why = whyUntil(s, dir / "job", c.reason, c.part, 60s);
            BOOST_TEST_MESSAGE("swarm-submit why, " << c.name << ":\n" << why);
            BOOST_TEST(why.find("\n" + c.reason + " ") != std::string::npos, why);
            BOOST_TEST(why.find(c.part) != std::string::npos, why);
            BOOST_TEST(why.find("a run is live") != std::string::npos, why);
            const auto warning = "warning: no progress for ";
            BOOST_TEST(waitFor(
                [&] { return readFile(out.string() + ".log").find(warning) != std::string::npos; },
                30s));
            const auto log = readFile(out.string() + ".log");
            auto at = log.find(warning);
            BOOST_TEST((at != std::string::npos &&
                        log.find(": " + c.reason + ": ", at) != std::string::npos),
                       log);
            if (!c.plain) // with --json, the warning is an event too
                BOOST_TEST(!eventsOf(out, "warning").empty());
            submit->signal(SIGINT);
            BOOST_TEST(waitExit(*submit, 60s).value_or(-1) == 130);
            // After the run: not live, the last diagnosis kept.
            auto after = runProgram(s.submitBinary, {"why", (dir / "job").string()}, 30s);
            BOOST_TEST(after.status == 0, after.err);
            BOOST_TEST(after.out.find("no run is live") != std::string::npos, after.out);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

#include "submitter/submission.hpp"
#include "temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::submitter::test::readFile;
using swarm::submitter::test::TempDir;
using swarm::wire::ManualClock;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    TempDir dir;
    ManualClock clock;
    std::vector<std::string> events;
    JobSpec job;

    Fixture() {
        dir.write("data/a.txt", "one two");
        dir.write("data/b.txt", "three");
        auto parsed = parseJobToml("image = \"img\"\ncommand = [\"wc\", \"-w\", \"{}\"]\n"
                                   "outputs = [\"out/n\"]\ninputs = \"data/*.txt\"\n",
                                   "job.toml", dir.path());
        BOOST_REQUIRE(parsed);
        job = *parsed;
    }

    std::unique_ptr<Submission> open(const std::optional<JobSpec>& j) {
        auto s = Submission::open(dir / "out", j, clock,
                                  [this](const std::string& line) { events.push_back(line); });
        BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().what));
        return std::move(*s);
    }

    bool sawEvent(std::string_view name) const {
        const std::string tag = "{\"event\":\"" + std::string(name) + "\"";
        return std::any_of(events.begin(), events.end(),
                           [&](const std::string& e) { return e.starts_with(tag); });
    }
};

// What an honest worker would return for an Assign, with its blobs.
struct Produced {
    swarm::wire::Result result;
    std::map<swarm::wire::Digest, std::string> blobs;
};

Produced run(const swarm::wire::Assign& a, std::string_view answer) {
    Produced p;
    p.result.unitId = a.unitId;
    p.result.replica = a.replica;
    p.result.exitCode = 0;
    auto add = [&](std::string name, std::string content) {
        const auto d = swarm::wire::sha256(swarm::wire::asBytes(content));
        p.result.outputs.push_back({std::move(name), d.bytes, content.size()});
        p.blobs[d] = std::move(content);
    };
    add("stdout", "");
    add("stderr", a.unitId + " took " + std::to_string(a.replica) + " ms");
    add("out/n", std::string(answer));
    return p;
}

void deliver(Submission& s, const WorkerId& w, const Produced& p) {
    for (const auto& ref : s.missingOutputs(p.result)) {
        const swarm::wire::Digest d{ref.digest};
        BOOST_REQUIRE(s.results().putBlob(d, swarm::wire::asBytes(p.blobs.at(d))));
    }
    BOOST_TEST(s.missingOutputs(p.result).empty());
    s.result(w, p.result);
}

} // namespace

BOOST_AUTO_TEST_SUITE(submission)

BOOST_FIXTURE_TEST_CASE(batch_runs_to_completion_and_resumes_as_done, Fixture) {
    {
        auto s = open(job);
        BOOST_TEST(!s->resumed());
        s->workerConnected("w1");
        s->workerConnected("w2");
        auto a1 = s->requestWork("w1", 4);
        auto a2 = s->requestWork("w2", 4);
        BOOST_REQUIRE(a1.size() == 2u);
        BOOST_REQUIRE(a2.size() == 2u);
        BOOST_TEST(a1[0].command == (std::vector<std::string>{"wc", "-w", "in/a.txt"}));
        BOOST_TEST(a1[0].inputs.at(0).name == "a.txt");
        BOOST_TEST(*s->inputs().pathOf(swarm::wire::Digest{a1[0].inputs[0].digest}) ==
                   dir / "data/a.txt");
        for (std::size_t i = 0; i < 2; ++i) {
            const std::string answer = i == 0 ? "2" : "1";
            deliver(*s, "w1", run(a1[i], answer));
            // The agreeing replica's outputs (apart from stderr) are already there.
            const auto second = run(a2[i], answer);
            BOOST_TEST(s->missingOutputs(second.result).size() == 1u);
            deliver(*s, "w2", second);
        }
        BOOST_TEST(s->finished());
        BOOST_TEST(s->finish() == 0);
        const auto p = s->progress();
        BOOST_TEST(p.valid == 2u);
        BOOST_TEST(p.workers == 2u);
    }
    BOOST_TEST(readFile(dir / "out/results/a.txt/out/n") == "2");
    BOOST_TEST(readFile(dir / "out/results/b.txt/out/n") == "1");
    BOOST_TEST(readFile(dir / "out/results/a.txt/stderr") == "a.txt took 0 ms");
    BOOST_TEST(readFile(dir / "out/summary.json").find("\"valid\":2") != std::string::npos);
    BOOST_TEST(sawEvent("job-started"));
    BOOST_TEST(sawEvent("replica-assigned"));
    BOOST_TEST(sawEvent("replica-ended"));
    BOOST_TEST(sawEvent("unit-valid"));
    BOOST_TEST(sawEvent("job-finished"));

    // A lost result directory is rewritten from blobs on resume; nothing reruns.
    fs::remove_all(dir / "out/results/b.txt");
    events.clear();
    auto again = open(job);
    BOOST_TEST(again->resumed());
    BOOST_TEST(again->finished());
    BOOST_TEST(again->requestWork("w3", 4).empty());
    BOOST_TEST(readFile(dir / "out/results/b.txt/out/n") == "1");
    BOOST_TEST(!sawEvent("unit-valid"));
}

BOOST_FIXTURE_TEST_CASE(different_job_in_directory_is_refused, Fixture) {
    { open(job); }
    auto other = job;
    other.policy.replicas = 3;
    auto s = Submission::open(dir / "out", other, clock, nullptr);
    BOOST_REQUIRE(!s);
    BOOST_TEST(s.error().what.find("already holds a different job") != std::string::npos);
    auto none = Submission::open(dir / "empty", std::nullopt, clock, nullptr);
    BOOST_REQUIRE(!none);
    BOOST_TEST((none.error().code == swarm::wire::Error::Code::kNotFound));
    auto resumed = Submission::open(dir / "out", std::nullopt, clock, nullptr);
    BOOST_REQUIRE(resumed);
    BOOST_TEST((*resumed)->job().units.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(expiry_cancels_and_disagreement_reissues, Fixture) {
    auto s = open(job);
    s->workerConnected("w1");
    auto a1 = s->requestWork("w1", 1);
    auto a2 = s->requestWork("w2", 1);
    BOOST_REQUIRE(a1.size() == 1u);
    clock.set(*s->nextDeadline());
    auto cancels = s->tick();
    BOOST_REQUIRE(cancels.size() == 2u); // both replicas expired; both workers connected
    BOOST_TEST(cancels[0].cancel.reason == "lease expired");
    auto a3 = s->requestWork("w3", 1);
    auto a4 = s->requestWork("w4", 1);
    BOOST_REQUIRE(a3.size() == 1u);
    BOOST_REQUIRE(a4.size() == 1u);
    deliver(*s, "w3", run(a3[0], "2"));
    deliver(*s, "w4", run(a4[0], "999")); // a liar
    auto a5 = s->requestWork("w5", 1);
    BOOST_REQUIRE(a5.size() == 1u);
    BOOST_TEST(a5[0].unitId == a3[0].unitId);
    deliver(*s, "w5", run(a5[0], "2"));
    BOOST_TEST(readFile(dir / ("out/results/" + a3[0].unitId + "/out/n")) == "2");
    // A malicious output name is an error, and nothing is fetched for it.
    auto b = s->requestWork("w6", 1);
    BOOST_REQUIRE(b.size() == 1u);
    auto bad = run(b[0], "x");
    bad.result.outputs.push_back({"../../escape", bad.result.outputs[0].digest, 0});
    BOOST_TEST(s->missingOutputs(bad.result).empty());
    s->result("w6", bad.result);
    BOOST_TEST(
        (s->scheduler().replicas(b[0].unitId)[b[0].replica].state == ReplicaState::kErrored));
    BOOST_TEST(!fs::exists(dir / "escape"));
    BOOST_TEST(s->finish() == 1); // not everything valid yet
}

BOOST_AUTO_TEST_SUITE_END()

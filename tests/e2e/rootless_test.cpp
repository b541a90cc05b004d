// A volunteer's worker as it usually runs: as a plain user, with rootless
// Podman of its own, next to a rootful worker, in one batch.

#include "swarm_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>

using namespace swarm::e2e;
using namespace std::chrono_literals;

namespace {

// The `"isolation":{...}` object of the first JSON object after `from` in
// `text` ("" if none): the doctor's, or one worker's in `workers --json`.
std::string isolationAfter(const std::string& text, std::size_t from = 0) {
    auto at = text.find("\"isolation\":{", from);
    if (at == std::string::npos)
        return "";
    return text.substr(at, text.find('}', at) - at + 1);
}

} // namespace

BOOST_AUTO_TEST_SUITE(rootless)

BOOST_AUTO_TEST_CASE(a_plain_users_worker_validates_a_batch_next_to_a_rootful_one) {
    Swarm s;
    const auto rootful = s.startWorker("rootful");
    WorkerOptions plain;
    plain.user = "swarmtest";
    const auto volunteer = s.startWorker("volunteer", plain);

    // Both replicas of each unit must agree: one runs rootful, one rootless.
    auto dir = s.root() / "job";
    std::filesystem::create_directories(dir / "inputs");
    for (int i = 0; i < 4; ++i)
        std::ofstream(dir / "inputs" / ("n" + std::to_string(i) + ".txt")) << "a b c " << i << "\n";
    std::ofstream(dir / "job.toml") << "name = \"rootless\"\n"
                                    << "image = \"localhost/swarm-test:latest\"\n"
                                    << "command = [\"sh\", \"-c\", \""
                                       "wc -w < {} > out/words\"]\n"
                                    << "inputs = \"inputs/*.txt\"\n"
                                    << "outputs = [\"out/words\"]\n"
                                    << "replicas = 2\nquorum = 2\ntimeout = \"60s\"\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "job.toml").string(), "--out", (dir / "out").string()}, events);
    auto status = submit->wait(300s);
    BOOST_REQUIRE_MESSAGE(status && *status == 0, readFile(events.string() + ".log"));
    auto summary = readFile(dir / "out/summary.json");
    BOOST_TEST(summary.find("\"valid\":4") != std::string::npos, summary);
    std::size_t byVolunteer = 0;
    for (const auto& e : eventsOf(events, "result-received"))
        byVolunteer += field(e, "worker") == volunteer;
    BOOST_TEST(byVolunteer == 4u); // a replica of every unit, each agreeing
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(readFile(dir / "out/results" / ("n" + std::to_string(i) + ".txt") /
                            "out/words") == "4\n");

    // What its record tells submitters is what its doctor measures.
    auto doctor = s.runWorkerCommand("volunteer", {"--json", "doctor"});
    BOOST_REQUIRE_MESSAGE(doctor.status == 0, doctor.out + doctor.err);
    BOOST_TEST(doctor.out.find("\"rootless\":true") != std::string::npos, doctor.out);
    auto listing = s.listWorkers();
    auto at = listing.find("\"id\":\"" + volunteer + "\"");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, listing);
    const auto record = listing.substr(at, listing.find("\"id\":", at + 1) - at);
    BOOST_TEST(record.find("\"rootless\":true") != std::string::npos, record);
    BOOST_TEST(isolationAfter(listing, at) == isolationAfter(doctor.out),
               listing << "\ndoctor: " << doctor.out);
    BOOST_TEST(isolationAfter(doctor.out).find("\"seccomp\":true") != std::string::npos,
               doctor.out);
    BOOST_TEST(s.stopWorker("volunteer") == 0);
    BOOST_TEST(s.stopWorker("rootful") == 0);
    (void)rootful;
}

BOOST_AUTO_TEST_SUITE_END()

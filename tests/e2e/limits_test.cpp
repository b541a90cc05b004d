// The volunteer's bounds on its machine, end to end: a worker with a CPU
// cap runs its units under the capped cgroup and offers only the cores it
// leaves; one with a tiny image limit removes the image it loaded for a
// job once the job's unit ended, and only the name it gave it.

#include "swarm_fixture.hpp"

#include "wire/bytes.hpp"
#include "wire/digest.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace swarm::e2e;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(a_capped_worker_runs_units_under_its_cap_and_collects_what_it_loaded) {
    Swarm s;
    WorkerOptions options;
    options.slots = 2;
    options.config = "[limits]\ncpu_percent = 25\n\n[disk]\nmax_image_bytes = 1\n";
    const auto id = s.startWorker("capped", options);

    auto dir = s.root() / "limits";
    std::filesystem::create_directories(dir / "inputs");
    std::ofstream(dir / "inputs" / "a.txt") << "a\n";
    const auto archive = dir / "image.tar";
    auto saved =
        runProgram("/usr/bin/podman",
                   {"--url", s.env().at("CONTAINER_HOST"), "save", "--format", "docker-archive",
                    "-o", archive.string(), "localhost/swarm-test:latest"},
                   120s);
    BOOST_REQUIRE_MESSAGE(saved.status == 0, saved.err);
    const auto digest = swarm::wire::sha256(swarm::wire::asBytes(readFile(archive)));
    const auto shipped =
        "localhost/swarm-shipped/" + s.submitterId() + ":" + digest.str().substr(7, 16);
    std::ofstream(dir / "job.toml") << "name = \"limits\"\n"
                                    << "image_archive = \"image.tar\"\n"
                                    << "command = [\"sh\", \"-c\", \"grep cpu /proc/self/cgroup "
                                       "> out/cgroup\"]\n"
                                    << "inputs = \"inputs/*.txt\"\n"
                                    << "outputs = [\"out/cgroup\"]\n"
                                    << "replicas = 1\nquorum = 1\ntimeout = \"60s\"\n";
    auto events = dir / "events.jsonl";
    auto submit = s.startSubmit(
        {"run", (dir / "job.toml").string(), "--out", (dir / "out").string()}, events);
    auto status = submit->wait(300s);
    BOOST_REQUIRE_MESSAGE(status && *status == 0, readFile(events.string() + ".log"));

    // Rootful: the unit ran in the worker's capped cgroup. Rootless on
    // cgroup v1 the cap cannot hold and the worker says so.
    const auto cgroup = readFile(dir / "out/results/a.txt/out/cgroup");
    const auto log = [&] { return readFile(s.workerLog("capped")); };
    if (::geteuid() == 0) {
        BOOST_TEST(cgroup.find(":/swarm-" + id.substr(0, 16) + "/") != std::string::npos, cgroup);
        BOOST_TEST(log().find("CPU cap 25% of") != std::string::npos, log());
    }
    auto listing = s.listWorkers();
    BOOST_TEST(listing.find("\"cpu_cap\":" + std::string(::geteuid() == 0 ? "true" : "false")) !=
                   std::string::npos,
               listing);

    // The 1-byte image limit: once the unit ended the worker takes the
    // shipped name away; the image itself is the suite's own and stays.
    BOOST_TEST(
        waitFor([&] { return log().find("removed image " + shipped) != std::string::npos; }, 30s),
        log());
    auto exists = [&](const std::string& image) {
        return runProgram("/usr/bin/podman",
                          {"--url", s.env().at("CONTAINER_HOST"), "image", "exists", image}, 60s)
                   .status == 0;
    };
    BOOST_TEST(!exists(shipped));
    BOOST_TEST(exists("localhost/swarm-test:latest"));
    auto shown = s.workerStatus("capped");
    BOOST_TEST(shown.find(R"("images":0,"image_bytes":0,"image_limit":1,)") != std::string::npos,
               shown);
    BOOST_TEST_MESSAGE("worker log:\n" << log());
    auto table = s.runWorkerCommand("capped", {"status"});
    BOOST_TEST_MESSAGE("status:\n" << table.out);
    auto doctor = s.runWorkerCommand("capped", {"doctor"});
    BOOST_TEST_MESSAGE("doctor:\n" << doctor.out);
    BOOST_TEST(doctor.out.find("cpu cap:      25% of the machine") != std::string::npos,
               doctor.out);
    BOOST_TEST(doctor.out.find("images loaded by this worker: 0, 0 KiB of 1 KiB") !=
                   std::string::npos,
               doctor.out);
    BOOST_TEST(s.stopWorker("capped") == 0);

    // A cap out of range stops `run` before anything starts, naming the line.
    auto home = s.root() / "badcap";
    std::filesystem::create_directories(home);
    std::ofstream(home / "worker.toml") << "slots = 1\n[limits]\ncpu_percent = 250\n";
    auto bad = runProgram(s.workerBinary, {"--home", home.string(), "run"}, 60s);
    BOOST_TEST(bad.status != 0);
    BOOST_TEST(bad.err.find("worker.toml:3: limits: 'cpu_percent' must be a whole number from 1 "
                            "to 100") != std::string::npos,
               bad.err);
}

BOOST_AUTO_TEST_SUITE_END()

// `swarm-submit jobs` and `swarm-submit status` run as the built program,
// on job directories made by the real journal (no swarm, no network).
#include "submitter/diagnosis.hpp"
#include "submitter/job_fixture.hpp"
#include "submitter/job_index.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

using namespace swarm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string submitBinary() {
    const char* build = std::getenv("SWARM_BUILD_ROOT");
    if (build == nullptr)
        throw std::runtime_error("SWARM_BUILD_ROOT is not set (run through meson test)");
    return (fs::path(build) / "src/swarm-submit").string();
}

struct Fixture {
    test::TempDir tmp{"swarm-jobs"};
    fs::path home = tmp / "home";
    fs::path job = tmp / "demo.swarm";
    Fixture() {
        wire::ManualClock clock;
        test::makeJobDir(job, tmp / "in", clock);
        submitter::JobIndex index(submitter::JobIndex::path(home));
        index.record({1'700'000'000'000, "run", job, "demo"});
        index.record({1'700'000'100'000, "run", tmp / "deleted.swarm", "old"});
        std::ofstream(index.file(), std::ios::app) << "not an index line\n";
    }
    test::RunResult submit(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--home", home.string()});
        return test::runProgram(submitBinary(), args, 30s, {{"TZ", "UTC"}});
    }
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(submit_commands, Fixture)

BOOST_AUTO_TEST_CASE(jobs_lists_the_index) {
    auto r = submit({"jobs"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("STARTED              STATE        VALID  FAILED  TOTAL  NAME  "
                                 "DIRECTORY\n"),
               r.out);
    BOOST_TEST(contains(r.out, "2023-11-14 22:13:20  interrupted      1       1      3  demo  " +
                                   job.string() + "\n"),
               r.out);
    BOOST_TEST(contains(r.out, "2023-11-14 22:15:00  missing          -       -      -  old   " +
                                   (tmp / "deleted.swarm").string() + "\n"),
               r.out);
    BOOST_TEST(r.err == "swarm-submit: skipped 1 unreadable line(s) of " +
                            (home / "jobs.tsv").string() + "\n");

    r = submit({"jobs", "--json"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with(R"({"index":")" + (home / "jobs.tsv").string() +
                                 R"(","skipped":1,"jobs":[{"dir":")" + job.string() +
                                 R"(","name":"demo","state":"interrupted","total":3,"valid":1,)"
                                 R"("failed":1,"started_ms":1700000000000,)"),
               r.out);
}

BOOST_AUTO_TEST_CASE(jobs_without_an_index) {
    fs::remove(home / "jobs.tsv");
    auto r = submit({"jobs"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == "no jobs recorded in " + (home / "jobs.tsv").string() +
                            " yet: 'run' and 'resume' add theirs\n");
    r = submit({"--json", "jobs"});
    BOOST_TEST(r.out == R"({"index":")" + (home / "jobs.tsv").string() +
                            R"(","skipped":0,"jobs":[]})" + "\n");
}

BOOST_AUTO_TEST_CASE(status_of_a_job_and_of_a_unit) {
    auto r = submit({"status", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with(
                   "job demo: 1 valid, 1 failed, 1 pending of 3 units (2 replicas in flight)\n"),
               r.out);
    r = submit({"status", job.string(), "u0"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("unit u0 of job demo (" + job.string() + "): valid\n"), r.out);
    BOOST_TEST(contains(r.out, "  issued   2023-11-14 22:13:20\n"), r.out);
    r = submit({"status", job.string(), "u2", "--json"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with(R"({"job":"demo","dir":")" + job.string() +
                                 R"(","unit":"u2","state":"pending",)"),
               r.out);
    r = submit({"status", job.string(), "--json"});
    BOOST_TEST(r.out.starts_with(R"({"job":"demo",)"), r.out);
}

BOOST_AUTO_TEST_CASE(bad_input_is_one_line) {
    auto r = submit({"status", job.string(), "u9"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'u9' in job " + job.string() + "\n");

    r = submit({"status", (tmp / "nowhere").string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err ==
               "swarm-submit: error: no such directory: " + (tmp / "nowhere").string() + "\n");

    r = submit({"status", (tmp / "in").string(), "u0"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: " + (tmp / "in").string() +
                            " is not a job directory (no journal.sqlite in it)\n");

    tmp.write("junk.swarm/journal.sqlite", "not a database, but long enough to look like one");
    r = submit({"status", (tmp / "junk.swarm").string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err.starts_with("swarm-submit: error: cannot read the journal of " +
                                 (tmp / "junk.swarm").string() + ": "),
               r.err);
    BOOST_TEST(r.err.find('\n') == r.err.size() - 1, r.err);
}

BOOST_AUTO_TEST_CASE(why_shows_the_diagnosis_of_the_run) {
    auto r = submit({"why", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("job demo (" + job.string() +
                                 "): 3 units, 1 valid, 1 failed, 1 pending\n"
                                 "no run is live (resume it to go on)\n"
                                 "no diagnosis: " +
                                 (job / "why.json").string() + " is missing"),
               r.out);

    const auto now = wire::SystemClock().nowMs();
    submitter::DiagnosisReport d;
    d.writtenMs = now;
    d.startedMs = now - 40'000;
    d.lastProgressMs = now - 30'000;
    const std::string worker(64, 'a');
    d.blockers.push_back({"unreachable",
                          "1 workers offered work never dialed in: they cannot reach this run "
                          "at 192.0.2.1:7000",
                          true,
                          {{worker, "offered 2 times since 30 s ago, never connected"}},
                          {}});
    d.blockers.push_back({"quorum", "1 units wait for agreeing results", false, {}, {"u9"}});
    BOOST_REQUIRE(submitter::writeDiagnosis(job, d).has_value());
    r = submit({"why", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(contains(r.out, "no run is live (resume it to go on); diagnosis "), r.out);
    BOOST_TEST(contains(r.out, " s old; no progress for 30 s\nREASON                DETAIL\n"
                               "unreachable           1 workers offered work never dialed in: "
                               "they cannot reach this run at 192.0.2.1:7000\n"
                               "  worker aaaaaaaaaaaa offered 2 times since 30 s ago, never "
                               "connected\nquorum                1 units wait"),
               r.out);

    r = submit({"why", job.string(), "u2"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(contains(r.out, "unit u2: pending\nREPLICA               WORKER        STATE"),
               r.out);
    BOOST_TEST(contains(r.out, "\nunreachable "), r.out);
    BOOST_TEST(!contains(r.out, "\nquorum "), r.out); // it holds up u9, not u2

    r = submit({"why", job.string(), "u0"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(contains(r.out, "unit u0: valid\n"), r.out);
    BOOST_TEST(!contains(r.out, "\nREASON "), r.out); // a decided unit waits for nothing
}

BOOST_AUTO_TEST_CASE(why_refuses_bad_input_in_one_line) {
    auto r = submit({"why", (tmp / "in").string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err == "swarm-submit: error: " + (tmp / "in").string() +
                            " is not a job directory: no journal.sqlite\n");

    r = submit({"why", job.string(), "u9"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'u9' in job " + job.string() + "\n");

    r = submit({"why", (tmp / "nowhere").string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: " + (tmp / "nowhere").string() +
                            " is not a job directory: no such directory\n");

    r = submit({"resume", job.string(), "--warn-after", "soon"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err == "swarm-submit: --warn-after wants a duration like 30s or 5m, not 'soon' "
                        "(see 'swarm-submit resume --help')\n");

    tmp.write("demo.swarm/why.json", "{not json");
    r = submit({"why", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(contains(r.out, "no diagnosis: " + (job / "why.json").string() + ": not JSON"),
               r.out);
}

BOOST_AUTO_TEST_SUITE_END()

// `swarm-submit jobs` and `swarm-submit status` run as the built program,
// on job directories made by the real journal (no swarm, no network).
#include "submitter/diagnosis.hpp"
#include "submitter/job_fixture.hpp"
#include "submitter/job_index.hpp"
#include "submitter/journal.hpp"
#include "submitter/replica_report.hpp"
#include "submitter/result_store.hpp"
#include "submitter/scheduler.hpp"
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

// A finished job with one failed unit e0: its only replica (on worker
// "w3") exited 3 with an error, sent a stdout the worker cut and a stderr.
void makeErroredJob(const fs::path& dir, const fs::path& inputs) {
    using namespace submitter;
    JobSpec job;
    job.name = "errs";
    job.image.reference = "localhost/img";
    job.command = {"sh", "{}"};
    job.policy.replicas = 1;
    job.policy.quorum = 1;
    job.policy.maxErrors = 0;
    job.policy.maxTotalResults = 2;
    job.policy.leaseMs = 60'000;
    job.timeoutMs = 10'000;
    fs::create_directories(inputs);
    std::ofstream(inputs / "e0.sh") << "exit 3\n";
    job.units.push_back({"e0", {{inputs / "e0.sh", "e0.sh"}}});
    auto journal = Journal::create(dir, job);
    ResultStore store(dir);
    auto blob = [&](std::string name, std::string_view content) {
        const auto digest = wire::sha256(wire::asBytes(content));
        if (!store.putBlob(digest, wire::asBytes(content)))
            throw std::runtime_error("cannot store a blob");
        return OutputFile{std::move(name), digest, content.size()};
    };
    auto out = blob("stdout", "line 1\nline 2");
    out.truncated = true;
    wire::ManualClock clock;
    Scheduler s(job.policy, {"e0"}, clock, journal);
    auto a = s.requestWork("w3", 1);
    s.reportResult(
        "w3", "e0", a.at(0).replica,
        ReplicaReport::failure("worker error: exit 3", {out, blob("stderr", "boom\n")}, 3));
}

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

BOOST_AUTO_TEST_CASE(logs_of_every_replica_of_a_unit) {
    auto r = submit({"logs", job.string(), "u0"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == "==> unit u0, replica 0, worker w1: succeeded, exit code 0 <==\n"
                        "--- stdout ---\nzero\n--- stderr ---\ntook 1s\n"
                        "==> unit u0, replica 1, worker w2: succeeded, exit code 0 <==\n"
                        "--- stdout ---\nzero\n--- stderr ---\ntook 2s\n");
    r = submit({"logs", job.string(), "u0", "--replica", "1"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("==> unit u0, replica 1, worker w2: succeeded"), r.out);
    BOOST_TEST(!contains(r.out, "replica 0"), r.out);
}

BOOST_AUTO_TEST_CASE(logs_of_an_errored_replica_say_what_the_worker_cut) {
    const auto errs = tmp / "errs.swarm";
    makeErroredJob(errs, tmp / "errs-in");
    auto r = submit({"logs", errs.string(), "e0"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == "==> unit e0, replica 0, worker w3: errored, exit code 3 <==\n"
                        "--- stdout ---\nline 1\nline 2\n"
                        "(stdout truncated at 13 bytes by the worker)\n"
                        "--- stderr ---\nboom\n");
}

BOOST_AUTO_TEST_CASE(logs_bad_input_is_one_line) {
    auto r = submit({"logs", job.string(), "u9"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'u9' in job " + job.string() + "\n");

    r = submit({"logs", job.string(), "u2"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no logs of unit 'u2': replica 0: it is still "
                        "running; replica 1: it is still running\n");

    r = submit({"logs", job.string(), "u1", "--replica", "0"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no logs of replica 0 of unit 'u1': its worker "
                        "reported no logs (timed out)\n");

    r = submit({"logs", job.string(), "u2", "--replica", "7"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no replica 7 of unit 'u2' in job " + job.string() +
                            " (2 issued)\n");

    r = submit({"logs", (tmp / "in").string(), "u0"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: " + (tmp / "in").string() +
                            " is not a job directory (no journal.sqlite in it)\n");

    r = submit({"logs", job.string(), "u0", "--replica", "-1"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.out.empty());
}

// --follow with no run holding the job: what is known, and a note on
// stderr; a finished replica is simply shown; an unknown unit is one line.
BOOST_AUTO_TEST_CASE(logs_follow_without_a_live_run) {
    const std::string note = "nothing to follow: no run of " + job.string() +
                             " is live ('swarm-submit resume " + job.string() + "' continues it)\n";
    auto r = submit({"logs", job.string(), "u0", "--follow"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("==> unit u0, replica 0, worker w1: succeeded"), r.out);
    BOOST_TEST(r.err == note);

    r = submit({"logs", job.string(), "u2", "--follow"}); // running, but no run to ask
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err == "no logs of unit 'u2': replica 0: it is still running; replica 1: it is "
                        "still running\n" +
                            note);

    r = submit({"logs", job.string(), "u0", "--replica", "1", "--follow"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("==> unit u0, replica 1, worker w2: succeeded"), r.out);
    BOOST_TEST(r.err.empty(), r.err);

    r = submit({"logs", job.string(), "u9", "--follow"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "swarm-submit: error: no unit 'u9' in job " + job.string() + "\n");
}

BOOST_AUTO_TEST_CASE(cancel_without_a_run_records_it) {
    auto r = submit({"cancel", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == "cancelled: no run holds " + job.string() +
                            "; 2 replicas in flight recorded as given back. Replicas still "
                            "running on workers are stopped when those workers next reach a run "
                            "of this job ('swarm-submit resume " +
                            job.string() + "' continues it)\n");
    r = submit({"status", job.string()});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(contains(r.out, "cancelled by the researcher at "), r.out);
    r = submit({"status", job.string(), "u2"});
    BOOST_TEST(contains(r.out, "given-back"), r.out);
    BOOST_TEST(contains(r.out, "cancelled by the researcher"), r.out);
    r = submit({"jobs"});
    BOOST_TEST(contains(r.out, "2023-11-14 22:13:20  cancelled  "), r.out);
    r = submit({"logs", job.string(), "u2", "--replica", "0"});
    BOOST_TEST(r.err == "swarm-submit: error: no logs of replica 0 of unit 'u2': the "
                        "researcher cancelled it before it ended\n");
}

BOOST_AUTO_TEST_CASE(cancel_of_a_finished_job_is_one_line) {
    const auto errs = tmp / "errs.swarm";
    makeErroredJob(errs, tmp / "errs-in");
    auto r = submit({"cancel", errs.string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err == "swarm-submit: error: job " + errs.string() +
                            " is finished (0 valid, 1 failed of 1 units): nothing to cancel\n");
    r = submit({"cancel", (tmp / "nowhere").string()});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err ==
               "swarm-submit: error: no such directory: " + (tmp / "nowhere").string() + "\n");
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

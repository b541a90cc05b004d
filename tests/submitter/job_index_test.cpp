// The job index (HOME/jobs.tsv) and what `swarm-submit jobs` makes of it.
#include "submitter/job_fixture.hpp"
#include "submitter/job_index.hpp"
#include "submitter/job_overview.hpp"
#include "submitter/journal.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm::submitter;
using swarm::test::TempDir;
namespace fs = std::filesystem;

namespace {

IndexEntry entry(std::int64_t ms, std::string kind, fs::path dir, std::string name) {
    return {ms, std::move(kind), std::move(dir), std::move(name)};
}

void append(const fs::path& file, std::string_view text) {
    std::ofstream(file, std::ios::app | std::ios::binary) << text;
}

std::string timeText(std::int64_t ms) {
    return "T" + std::to_string(ms);
}

} // namespace

BOOST_AUTO_TEST_SUITE(job_index)

BOOST_AUTO_TEST_CASE(lines_round_trip_with_escapes) {
    const auto e = entry(1700000000000, "run", "/home/a\tb\\c\nd/x.swarm", "word\tcount");
    const auto line = indexLine(e);
    BOOST_TEST(line == "j1\t1700000000000\trun\t/home/a\\tb\\\\c\\nd/x.swarm\tword\\tcount\t.\n");
    BOOST_TEST((parseIndexLine(line.substr(0, line.size() - 1)) == e));
}

BOOST_AUTO_TEST_CASE(bad_lines_are_refused) {
    for (std::string_view bad : std::vector<std::string_view>{
             "",
             "j1\t17\trun\t/a\tn",                            // cut short: no end mark
             "j1\t17\trun\t/a\tn\t.\textra",                  // a field too many
             "j2\t17\trun\t/a\tn\t.",                         // a version we do not know
             "j1\t-5\trun\t/a\tn\t.",                         // a negative time
             "j1\t17x\trun\t/a\tn\t.",                        // not a number
             "j1\t17\tstart\t/a\tn\t.",                       // an unknown kind
             "j1\t17\trun\t\tn\t.",                           // no directory
             "j1\t17\trun\t/a\\q\tn\t.",                      // an unknown escape
             "j1\t17\trun\t/a\\\tn\t.",                       // an escape cut short
             std::string_view("j1\t17\0\trun\t/a\tn\t.", 17), // zeros from a crash
         })
        BOOST_TEST(!parseIndexLine(bad), bad);
}

BOOST_AUTO_TEST_CASE(a_corrupt_or_partial_line_is_skipped) {
    const auto good1 = indexLine(entry(1, "run", "/a", "a"));
    const auto good2 = indexLine(entry(2, "resume", "/a", "a"));
    auto c = parseIndex(good1 + "garbage\n" + good2 + "j1\t3\trun\t/b");
    BOOST_TEST(c.entries.size() == 2u);
    BOOST_TEST(c.entries[1].kind == "resume");
    BOOST_TEST(c.skipped == 2u);
}

BOOST_AUTO_TEST_CASE(record_appends_and_starts_fresh_after_a_torn_line) {
    TempDir tmp;
    JobIndex index(JobIndex::path(tmp / "home"));
    BOOST_TEST(index.read().entries.empty()); // no file yet
    index.record(entry(1, "run", "/jobs/a.swarm", "a"));
    // A crash in the middle of a line, then the next run appends.
    append(index.file(), "j1\t2\trun\t/jobs/b.sw");
    index.record(entry(3, "resume", "/jobs/a.swarm", "a"));
    const auto c = index.read();
    BOOST_REQUIRE(c.entries.size() == 2u);
    BOOST_TEST(c.entries[0].timeMs == 1);
    BOOST_TEST(c.entries[1].timeMs == 3);
    BOOST_TEST(c.skipped == 1u);
    BOOST_TEST(((fs::status(index.file()).permissions() & fs::perms::all) ==
                (fs::perms::owner_read | fs::perms::owner_write)));
}

BOOST_AUTO_TEST_CASE(entries_are_grouped_by_directory_in_order_of_first_run) {
    const auto jobs =
        groupByDirectory({entry(20, "run", "/b", "b"), entry(10, "run", "/a", "a"),
                          entry(30, "resume", "/b", "b2"), entry(40, "resume", "/a", "a")});
    BOOST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[0].dir == "/a");
    BOOST_TEST(jobs[0].startedMs == 10);
    BOOST_TEST(jobs[0].lastRunMs == 40);
    BOOST_TEST(jobs[0].runs == 2u);
    BOOST_TEST(jobs[1].name == "b2"); // the latest name recorded
}

BOOST_AUTO_TEST_CASE(states) {
    BOOST_TEST((deriveState(true, 3, 3, 0) == JobState::kRunning));
    BOOST_TEST((deriveState(false, 3, 3, 0) == JobState::kFinished));
    BOOST_TEST((deriveState(false, 3, 2, 1) == JobState::kFailed));
    BOOST_TEST((deriveState(false, 3, 1, 1) == JobState::kInterrupted));
    BOOST_TEST((deriveState(false, 0, 0, 0) == JobState::kFinished));
}

BOOST_AUTO_TEST_CASE(inspect_reads_the_job_directory) {
    TempDir tmp;
    swarm::wire::ManualClock clock;
    const auto dir = tmp / "demo.swarm";
    swarm::test::makeJobDir(dir, tmp / "in", clock);

    JobOverview job;
    job.dir = dir;
    job.name = "from the index";
    inspect(job);
    BOOST_TEST((job.state == JobState::kInterrupted), stateName(job.state));
    BOOST_TEST(job.name == "demo");
    BOOST_TEST(job.total == 3u);
    BOOST_TEST(job.valid == 1u);
    BOOST_TEST(job.failed == 1u);

    {
        auto running = Journal::open(dir); // holds the lock, as a run does
        inspect(job);
        BOOST_TEST((job.state == JobState::kRunning));
    }
    inspect(job);
    BOOST_TEST((job.state == JobState::kInterrupted));
}

BOOST_AUTO_TEST_CASE(a_missing_directory_or_journal_does_not_fail) {
    TempDir tmp;
    JobOverview gone;
    gone.dir = tmp / "deleted.swarm";
    inspect(gone);
    BOOST_TEST((gone.state == JobState::kMissing));
    BOOST_TEST(gone.problem == "no such directory");

    fs::create_directories(tmp / "empty.swarm");
    JobOverview empty;
    empty.dir = tmp / "empty.swarm";
    inspect(empty);
    BOOST_TEST((empty.state == JobState::kMissing));
    BOOST_TEST(empty.problem == "no journal.sqlite in it");

    tmp.write("junk.swarm/journal.sqlite", "this is not a database, just text long enough");
    JobOverview junk;
    junk.dir = tmp / "junk.swarm";
    inspect(junk);
    BOOST_TEST((junk.state == JobState::kUnreadable));
    BOOST_TEST(!junk.problem.empty());
}

BOOST_AUTO_TEST_CASE(table_and_json) {
    JobOverview done;
    done.dir = "/jobs/wordcount.swarm";
    done.name = "wordcount";
    done.startedMs = 1000;
    done.lastRunMs = 2000;
    done.runs = 2;
    done.state = JobState::kFinished;
    done.total = 20;
    done.valid = 20;
    JobOverview gone;
    gone.dir = "/tmp/old.swarm";
    gone.name = "old";
    gone.startedMs = 3000;
    gone.lastRunMs = 3000;
    gone.runs = 1;
    gone.state = JobState::kMissing;
    gone.problem = "no such directory";

    BOOST_TEST(jobsTable({done, gone}, timeText) ==
               "STARTED  STATE     VALID  FAILED  TOTAL  NAME       DIRECTORY\n"
               "T1000    finished     20       0     20  wordcount  /jobs/wordcount.swarm\n"
               "T3000    missing       -       -      -  old        /tmp/old.swarm\n");
    BOOST_TEST(jobsJson("/h/jobs.tsv", 1, {done, gone}) ==
               R"({"index":"/h/jobs.tsv","skipped":1,"jobs":[)"
               R"({"dir":"/jobs/wordcount.swarm","name":"wordcount","state":"finished",)"
               R"("total":20,"valid":20,"failed":0,"started_ms":1000,"last_run_ms":2000,"runs":2},)"
               R"({"dir":"/tmp/old.swarm","name":"old","state":"missing","total":null,)"
               R"("valid":null,"failed":null,"started_ms":3000,"last_run_ms":3000,"runs":1,)"
               R"("problem":"no such directory"}]})");
}

BOOST_AUTO_TEST_SUITE_END()

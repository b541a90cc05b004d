// The plain progress line of a run whose stderr is not a terminal.
#include "submitter/progress_pacer.hpp"
#include "submitter/reporter.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <memory>
#include <string>

using namespace swarm::submitter;
using swarm::wire::ManualClock;

namespace {

// A run of 40 units, as JobRunner::progress() would report it at the clock's now.
struct Run {
    ManualClock clock;
    ProgressState p;
    Run() {
        p.total = 40;
        p.startedMs = clock.nowMs();
    }
    const ProgressState& at(std::int64_t afterMs, std::size_t valid, std::size_t failed = 0) {
        clock.set(p.startedMs + afterMs);
        p.nowMs = clock.nowMs();
        p.valid = valid;
        p.failed = failed;
        return p;
    }
};

struct File {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f{std::tmpfile(), &std::fclose};
    std::string text() {
        std::fflush(f.get());
        std::rewind(f.get());
        std::string out;
        for (int c; (c = std::fgetc(f.get())) != EOF;)
            out += static_cast<char>(c);
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(progress_pacer)

BOOST_AUTO_TEST_CASE(every_ten_seconds_when_nothing_moves) {
    Run run;
    ProgressPacer pacer;
    BOOST_TEST(!pacer.due(run.at(0, 0))); // the baseline
    BOOST_TEST(!pacer.due(run.at(250, 0)));
    BOOST_TEST(!pacer.due(run.at(9'999, 0)));
    BOOST_TEST(pacer.due(run.at(10'000, 0)));
    BOOST_TEST(!pacer.due(run.at(10'250, 0)));
    BOOST_TEST(!pacer.due(run.at(19'999, 0)));
    BOOST_TEST(pacer.due(run.at(20'000, 0)));
}

BOOST_AUTO_TEST_CASE(at_each_tenth_of_the_units_decided) {
    Run run;
    ProgressPacer pacer;
    BOOST_TEST(!pacer.due(run.at(0, 0)));
    BOOST_TEST(!pacer.due(run.at(1'000, 3)));   // 7.5 %
    BOOST_TEST(pacer.due(run.at(1'250, 3, 1))); // 10 %: failed units count as decided
    BOOST_TEST(!pacer.due(run.at(1'500, 7)));   // still the second tenth
    BOOST_TEST(pacer.due(run.at(1'750, 20)));   // several tenths at once: one line
    BOOST_TEST(!pacer.due(run.at(2'000, 20)));
    BOOST_TEST(pacer.due(run.at(12'000, 20))); // then the ten seconds again, from the last line
    BOOST_TEST(pacer.due(run.at(12'250, 40)));
}

BOOST_AUTO_TEST_CASE(a_resumed_run_does_not_print_at_once) {
    Run run;
    ProgressPacer pacer;
    BOOST_TEST(!pacer.due(run.at(0, 30))); // 75 % decided before this run
    BOOST_TEST(!pacer.due(run.at(250, 31)));
    BOOST_TEST(pacer.due(run.at(500, 32)));
}

BOOST_AUTO_TEST_CASE(a_job_without_units) {
    Run run;
    run.p.total = 0;
    ProgressPacer pacer;
    BOOST_TEST(!pacer.due(run.at(0, 0)));
    BOOST_TEST(!pacer.due(run.at(250, 0)));
    BOOST_TEST(pacer.due(run.at(10'000, 0)));
}

BOOST_AUTO_TEST_CASE(the_reporter_prints_plain_lines_without_a_terminal) {
    Run run;
    File out;
    File err;
    Reporter reporter(false, ProgressOutput::kPlain, out.f.get(), err.f.get());
    run.p.running = 2;
    run.p.workers = 1;
    for (std::int64_t ms = 0; ms <= 25'000; ms += 250) // a tick every 250 ms
        reporter.progress(run.at(ms, ms >= 15'000 ? 4 : 0));
    reporter.finish(run.at(25'000, 4));
    BOOST_TEST(err.text() ==
               "progress: 0/40 done  2 running  0 failed  1 worker  ETA --  elapsed 10s\n"
               "progress: 4/40 done  2 running  0 failed  1 worker  ETA 2m15s  elapsed 15s\n"
               "progress: 4/40 done  2 running  0 failed  1 worker  ETA 3m45s  elapsed 25s\n");
    BOOST_TEST(out.text().empty());
}

BOOST_AUTO_TEST_CASE(finish_prints_the_last_counts_once) {
    Run run;
    File err;
    Reporter reporter(false, ProgressOutput::kPlain, stdout, err.f.get());
    reporter.progress(run.at(0, 0));
    reporter.progress(run.at(1'000, 40)); // done: the 100 % line
    reporter.finish(run.at(1'000, 40));
    BOOST_TEST(err.text() ==
               "progress: 40/40 done  0 running  0 failed  0 workers  ETA 0s  elapsed 1s\n");
}

BOOST_AUTO_TEST_CASE(nothing_on_stderr_with_json_or_none) {
    Run run;
    File out;
    File err;
    Reporter reporter(true, ProgressOutput::kNone, out.f.get(), err.f.get());
    for (std::int64_t ms = 0; ms <= 25'000; ms += 250)
        reporter.progress(run.at(ms, 0));
    reporter.finish(run.at(25'000, 0));
    BOOST_TEST(err.text().empty());
    BOOST_TEST(out.text().starts_with(R"({"event":"progress",)"));
}

BOOST_AUTO_TEST_SUITE_END()

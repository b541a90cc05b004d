#include "submitter/commands.hpp"

#include "submitter/job_index.hpp"
#include "submitter/job_overview.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace swarm::submitter {

namespace {

int listJobs(const cli::Globals& g) {
    const JobIndex index(JobIndex::path(g.home));
    const auto contents = index.read();
    if (contents.skipped > 0)
        fmt::print(stderr, "{}: skipped {} unreadable line(s) of {}\n", g.program, contents.skipped,
                   index.file().string());
    auto jobs = groupByDirectory(contents.entries);
    for (auto& job : jobs)
        inspect(job);
    if (g.json)
        fmt::print("{}\n", jobsJson(index.file(), contents.skipped, jobs));
    else if (jobs.empty())
        fmt::print("no jobs recorded in {} yet: 'run' and 'resume' add theirs\n",
                   index.file().string());
    else
        fmt::print("{}", jobsTable(jobs, localTimeText));
    return 0;
}

} // namespace

cli::Command jobsCommand() {
    return {
        "jobs", "the jobs run from this swarm home: state, units, directory",
        [](CLI::App&) -> cli::Action { return [](const cli::Globals& g) { return listJobs(g); }; }};
}

} // namespace swarm::submitter

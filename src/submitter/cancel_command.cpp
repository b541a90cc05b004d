#include "submitter/commands.hpp"

#include "submitter/batch.hpp"
#include "submitter/control_socket.hpp"
#include "submitter/job_files.hpp"
#include "submitter/job_overview.hpp"
#include "submitter/journal.hpp"
#include "wire/clock.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace swarm::submitter {

namespace {

namespace fs = std::filesystem;

// A live run holds the job: it sends the cancels and answers when its
// workers did (or after a few seconds).
int cancelLive(const fs::path& dir) {
    auto answer = askRun(dir, "cancel");
    if (!answer)
        throw std::runtime_error(answer.error());
    if (answer->starts_with("error "))
        throw std::runtime_error(answer->substr(6));
    fmt::print("{}\n", answer->starts_with("ok ") ? answer->substr(3) : *answer);
    return 0;
}

// No run holds the job: the journal records the cancel; the workers hear
// of it when they next reach a run of this job.
int cancelOffline(const fs::path& dir) {
    auto journal = openJob(dir, Journal::Access::kReadWrite);
    const auto tally = journal.cancelOffline(wire::SystemClock().nowMs());
    fmt::print("cancelled: no run holds {}; {} replica{} in flight recorded as given back. "
               "Replicas still running on workers are stopped when those workers next reach "
               "a run of this job ('swarm-submit resume {}' continues it)\n",
               dir.string(), tally.replicas, tally.replicas == 1 ? "" : "s", dir.string());
    return 0;
}

int cancelJob(const fs::path& dir) {
    {
        const auto journal = openJob(dir);
        const auto c = countUnits(journal.load());
        if (c.valid + c.failed == c.total)
            throw std::runtime_error(
                fmt::format("job {} is finished ({} valid, {} failed of {} units): nothing to "
                            "cancel",
                            dir.string(), c.valid, c.failed, c.total));
    }
    return Journal::inUse(dir) ? cancelLive(dir) : cancelOffline(dir);
}

} // namespace

cli::Command cancelCommand() {
    return {"cancel", "stop a job: its replicas in flight are cancelled on their workers",
            [](CLI::App& app) -> cli::Action {
                auto dir = std::make_shared<std::string>();
                app.add_option("DIR", *dir, "the job directory")->required()->type_name("");
                return [dir](const cli::Globals&) { return cancelJob(*dir); };
            }};
}

} // namespace swarm::submitter

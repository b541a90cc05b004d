#include "submitter/commands.hpp"

#include "submitter/job_files.hpp"
#include "submitter/job_overview.hpp"
#include "submitter/journal.hpp"
#include "submitter/progress.hpp"
#include "submitter/result_store.hpp"
#include "submitter/unit_detail.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace swarm::submitter {

namespace {

namespace fs = std::filesystem;

int jobStatus(const fs::path& dir, const std::optional<std::string>& unit, bool json) {
    auto journal = openJob(dir);
    const auto name = jobName(journal);
    const auto snapshot = journal.load();
    if (!unit) {
        fmt::print("{}", json ? summaryJson(name, snapshot) + "\n" : statusReport(name, snapshot));
        const auto c = countUnits(snapshot);
        if (auto at = journal.cancelledAt(); at && !json && c.valid + c.failed < c.total)
            fmt::print("cancelled by the researcher at {}: 'swarm-submit resume {}' continues "
                       "it\n",
                       localTimeText(*at), dir.string());
        return 0;
    }
    auto detail = unitDetail(dir, name, snapshot, *unit);
    if (!detail)
        throw std::runtime_error(detail.error());
    fmt::print("{}",
               json ? unitDetailJson(*detail) + "\n" : unitDetailText(*detail, localTimeText));
    return 0;
}

} // namespace

cli::Command statusCommand() {
    return {"status", "what a job's journal says (without locking it), or one unit's detail",
            [](CLI::App& app) -> cli::Action {
                struct Flags {
                    std::string dir;
                    std::optional<std::string> unit;
                };
                auto flags = std::make_shared<Flags>();
                app.add_option("DIR", flags->dir, "the job directory")->required()->type_name("");
                app.add_option("UNIT", flags->unit,
                               "one unit: its replicas (worker, state, exit code, digest), "
                               "results and logs")
                    ->type_name("");
                return [flags](const cli::Globals& g) {
                    return jobStatus(flags->dir, flags->unit, g.json);
                };
            }};
}

} // namespace swarm::submitter

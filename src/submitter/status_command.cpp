#include "submitter/commands.hpp"

#include "submitter/journal.hpp"
#include "submitter/progress.hpp"
#include "submitter/result_store.hpp"
#include "submitter/unit_detail.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace swarm::submitter {

namespace {

namespace fs = std::filesystem;

// The journal of `dir` opened read-only, or one line saying why it is not a
// job directory.
Journal openJob(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec))
        throw std::runtime_error("no such directory: " + dir.string());
    if (!fs::is_directory(dir, ec))
        throw std::runtime_error(dir.string() + " is not a directory");
    if (!Journal::exists(dir))
        throw std::runtime_error(dir.string() +
                                 " is not a job directory (no journal.sqlite in it)");
    try {
        return Journal::open(dir, Journal::Access::kReadOnly);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot read the journal of " + dir.string() + ": " + e.what());
    }
}

// The job's name from the journal's spec (the whole spec would also check
// that the input files are still there).
std::string jobName(const Journal& journal) {
    try {
        const auto spec = toml::parse(journal.specToml());
        return spec["name"].value<std::string>().value_or("job");
    } catch (const std::exception&) {
        return "job";
    }
}

int jobStatus(const fs::path& dir, const std::optional<std::string>& unit, bool json) {
    auto journal = openJob(dir);
    const auto name = jobName(journal);
    const auto snapshot = journal.load();
    if (!unit) {
        fmt::print("{}", json ? summaryJson(name, snapshot) + "\n" : statusReport(name, snapshot));
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

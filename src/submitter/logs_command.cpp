#include "submitter/commands.hpp"

#include "cli/options.hpp"
#include "submitter/job_files.hpp"
#include "submitter/journal.hpp"
#include "submitter/unit_detail.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace swarm::submitter {

namespace {

namespace fs = std::filesystem;

// Why a replica has no logs to show, in a few words.
std::string whyNoLogs(const ReplicaDetail& d) {
    const auto& r = d.record;
    switch (r.state) {
    case ReplicaState::kInFlight:
        return "it is still running";
    case ReplicaState::kGivenBack:
        return r.reason == kResearcherCancel ? "the researcher cancelled it before it ended"
                                             : "its worker gave it back before it ended";
    case ReplicaState::kLost:
        return "it was lost (" + r.reason + ")";
    case ReplicaState::kExpired:
        return "its lease expired before a result came";
    case ReplicaState::kAbandoned:
        return "it was abandoned (" + r.reason + ")";
    case ReplicaState::kCancelled:
        return "it was cancelled: " + r.reason;
    case ReplicaState::kRefused:
        return "its worker refused it before running it (" + r.reason + ")";
    case ReplicaState::kSucceeded:
    case ReplicaState::kErrored:
        break;
    }
    for (const auto& o : r.outputs)
        if (o.name == "stdout" || o.name == "stderr")
            return "its logs are missing from the job's blobs";
    return "its worker reported no logs (" + (r.reason.empty() ? "no reason" : r.reason) + ")";
}

bool hasLogs(const ReplicaDetail& d) {
    return d.stdoutFile || d.stderrFile;
}

// Control characters but newline and tab as `\xNN`; the rest as is.
std::string escapeControls(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

std::string shortId(const std::string& worker) {
    return worker.substr(0, 12);
}

// Copies one log blob to stdout, under a line naming it, ending in a
// newline, then says whether the worker cut it.
void printStream(const ReplicaDetail& d, std::string_view name,
                 const std::optional<fs::path>& file) {
    fmt::print("--- {} ---\n", name);
    std::fflush(stdout);
    if (!file) {
        fmt::print("(none)\n");
        return;
    }
    std::ifstream in(*file, std::ios::binary);
    char buf[65536];
    char last = '\n';
    // A worker wrote these bytes: on a terminal its control sequences
    // (retitling, clipboard writes, cursor moves) are shown, not obeyed.
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        const auto n = static_cast<std::size_t>(in.gcount());
        if (tty)
            std::fputs(escapeControls(std::string_view(buf, n)).c_str(), stdout);
        else
            std::fwrite(buf, 1, n, stdout);
        last = buf[n - 1];
    }
    if (last != '\n')
        std::fputc('\n', stdout);
    for (const auto& o : d.record.outputs)
        if (o.name == name && o.truncated)
            fmt::print("({} truncated at {} bytes by the worker)\n", name, o.size);
}

void printReplica(const ReplicaDetail& d) {
    const auto& r = d.record;
    const std::string exit =
        r.exitCode >= 0 ? fmt::format("exit code {}", r.exitCode) : std::string("no exit code");
    fmt::print("==> unit {}, replica {}, worker {}: {}, {} <==\n", r.unitId, r.replica,
               shortId(r.worker), stateName(r.state), exit);
    printStream(d, "stdout", d.stdoutFile);
    printStream(d, "stderr", d.stderrFile);
    std::fflush(stdout);
}

int showLogs(const fs::path& dir, const std::string& unit, std::optional<std::uint64_t> replica) {
    auto journal = openJob(dir);
    const auto snapshot = journal.load();
    auto detail = unitDetail(dir, jobName(journal), snapshot, unit);
    if (!detail)
        throw std::runtime_error(detail.error());
    const auto& replicas = detail->replicas;
    if (replica) {
        auto it = std::find_if(replicas.begin(), replicas.end(), [&](const ReplicaDetail& d) {
            return d.record.replica == *replica;
        });
        if (it == replicas.end())
            throw std::runtime_error(fmt::format("no replica {} of unit '{}' in job {} ({} issued)",
                                                 *replica, unit, dir.string(), replicas.size()));
        if (!hasLogs(*it))
            throw std::runtime_error(fmt::format("no logs of replica {} of unit '{}': {}", *replica,
                                                 unit, whyNoLogs(*it)));
        printReplica(*it);
        return 0;
    }
    std::size_t shown = 0;
    for (const auto& d : replicas) {
        if (!hasLogs(d))
            continue;
        printReplica(d);
        ++shown;
    }
    if (shown == 0) {
        std::string why;
        for (const auto& d : replicas)
            why += fmt::format("{}replica {}: {}", why.empty() ? "" : "; ", d.record.replica,
                               whyNoLogs(d));
        throw std::runtime_error(fmt::format("no logs of unit '{}': {}", unit,
                                             why.empty() ? "no replica was issued yet" : why));
    }
    return 0;
}

} // namespace

cli::Command logsCommand() {
    return {"logs", "the stdout and stderr of a unit's finished replicas",
            [](CLI::App& app) -> cli::Action {
                struct Flags {
                    std::string dir;
                    std::string unit;
                    std::optional<std::uint64_t> replica;
                };
                auto flags = std::make_shared<Flags>();
                app.add_option("DIR", flags->dir, "the job directory")->required()->type_name("");
                app.add_option("UNIT", flags->unit, "the unit")->required()->type_name("");
                cli::addNumber(app, "--replica", flags->replica,
                               "only this replica (its number, as 'status DIR UNIT' lists them)");
                return [flags](const cli::Globals&) {
                    return showLogs(flags->dir, flags->unit, flags->replica);
                };
            }};
}

} // namespace swarm::submitter

#include "submitter/commands.hpp"

#include "cli/options.hpp"
#include "submitter/control_socket.hpp"
#include "submitter/job_files.hpp"
#include "submitter/journal.hpp"
#include "submitter/unit_detail.hpp"
#include "wire/bytes.hpp"

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

UnitDetail loadUnit(const fs::path& dir, const std::string& unit) {
    auto journal = openJob(dir);
    const auto snapshot = journal.load();
    auto detail = unitDetail(dir, jobName(journal), snapshot, unit);
    if (!detail)
        throw std::runtime_error(detail.error());
    return std::move(*detail);
}

int showLogs(const fs::path& dir, const std::string& unit, std::optional<std::uint64_t> replica) {
    const auto detail = loadUnit(dir, unit);
    const auto& replicas = detail.replicas;
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

// Bytes a worker's unit wrote, to `out` as they come (escaped on a
// terminal, like finished logs).
void writeLive(std::FILE* out, std::string_view bytes) {
    if (::isatty(::fileno(out)) != 0)
        std::fputs(escapeControls(bytes).c_str(), out);
    else
        std::fwrite(bytes.data(), 1, bytes.size(), out);
    std::fflush(out);
}

// One data line of a follow (follow_server.hpp); malformed ones are skipped:
// the run is our own process, but the bytes are a worker's.
void onFollowLine(std::string_view line, const std::string& unit) {
    auto word = [&](std::size_t i) {
        std::string_view rest = line;
        for (; i > 0; --i) {
            const auto sp = rest.find(' ');
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        }
        return rest.substr(0, rest.find(' '));
    };
    const auto tag = word(0);
    if (tag == "out" || tag == "err") {
        if (auto bytes = wire::fromHex(word(2)))
            writeLive(
                tag == "out" ? stdout : stderr,
                std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
    } else if (tag == "info") {
        fmt::print("==> unit {}, replica {}, worker {}: running, following its output <==\n", unit,
                   word(1), word(2).substr(0, 12));
        std::fflush(stdout);
    } else if (tag == "skip") {
        fmt::print(stderr,
                   "({} bytes of {} skipped: the worker keeps only its newest output for a "
                   "follower)\n",
                   word(2), word(1));
    } else if (tag == "truncated") {
        fmt::print(stderr, "({} truncated by the worker's log cap)\n", word(1));
    }
}

// No replica to follow: what is known, and why nothing is followed.
int showInstead(const fs::path& dir, const std::string& unit, std::optional<std::uint64_t> replica,
                const std::string& why) {
    int rc = 0;
    try {
        rc = showLogs(dir, unit, replica);
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}\n", e.what());
        rc = 1;
    }
    fmt::print(stderr, "nothing to follow: {}\n", why);
    return rc;
}

int followLogs(const fs::path& dir, const std::string& unit, std::optional<std::uint64_t> replica) {
    const auto detail = loadUnit(dir, unit); // an unknown unit ends here
    if (replica) {
        auto it =
            std::find_if(detail.replicas.begin(), detail.replicas.end(),
                         [&](const ReplicaDetail& d) { return d.record.replica == *replica; });
        if (it != detail.replicas.end() && it->record.state != ReplicaState::kInFlight)
            return showLogs(dir, unit, replica); // finished: its logs as they are
    }
    if (!Journal::inUse(dir))
        return showInstead(dir, unit, replica,
                           fmt::format("no run of {} is live ('swarm-submit resume {}' continues "
                                       "it)",
                                       dir.string(), dir.string()));
    const auto request =
        fmt::format("follow {} {}", unit, replica ? std::to_string(*replica) : std::string("-"));
    auto answer = askRun(dir, request, [&](std::string_view line) { onFollowLine(line, unit); });
    if (!answer)
        throw std::runtime_error(answer.error());
    if (answer->starts_with("error not-running "))
        return showInstead(dir, unit, replica, answer->substr(18));
    if (answer->starts_with("error "))
        throw std::runtime_error(answer->substr(6));
    // "ok REPLICA STATE EXIT", or "ok REPLICA running"
    unsigned n = 0;
    char state[32] = {};
    int exit = -1;
    const int got = std::sscanf(answer->c_str(), "ok %u %31s %d", &n, state, &exit);
    if (got >= 2 && std::string_view(state) == "running")
        fmt::print("==> unit {}, replica {}: still running; its worker stopped streaming <==\n",
                   unit, n);
    else if (got == 3)
        fmt::print("==> unit {}, replica {}: {}, {} <==\n", unit, n, state,
                   exit >= 0 ? fmt::format("exit code {}", exit) : std::string("no exit code"));
    return 0;
}

} // namespace

cli::Command logsCommand() {
    return {"logs", "the stdout and stderr of a unit's replicas: finished, or live (--follow)",
            [](CLI::App& app) -> cli::Action {
                struct Flags {
                    std::string dir;
                    std::string unit;
                    std::optional<std::uint64_t> replica;
                    bool follow = false;
                };
                auto flags = std::make_shared<Flags>();
                app.add_option("DIR", flags->dir, "the job directory")->required()->type_name("");
                app.add_option("UNIT", flags->unit, "the unit")->required()->type_name("");
                cli::addNumber(app, "--replica", flags->replica,
                               "only this replica (its number, as 'status DIR UNIT' lists them)");
                app.add_flag("--follow", flags->follow,
                             "stream a running replica's output as it is printed, until it "
                             "ends (through the run that holds DIR)");
                return [flags](const cli::Globals&) {
                    return flags->follow ? followLogs(flags->dir, flags->unit, flags->replica)
                                         : showLogs(flags->dir, flags->unit, flags->replica);
                };
            }};
}

} // namespace swarm::submitter

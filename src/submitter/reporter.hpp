#pragma once

#include "submitter/progress.hpp"
#include "submitter/progress_pacer.hpp"

#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

namespace swarm::submitter {

/// How a run shows its progress on stderr.
enum class ProgressOutput {
    kNone,     ///< nothing (--json: the progress events say it)
    kTerminal, ///< one line redrawn in place
    kPlain,    ///< a plain line now and then (ProgressPacer), for logs and pipes
};

/// Where a run tells its researcher what happens: JSON-lines events on
/// stdout (`--json`), progress on stderr (ProgressOutput). Events are built
/// by progress.hpp's `event::` functions. Thread-safe.
class Reporter {
public:
    Reporter(bool json, ProgressOutput progress, std::FILE* out = stdout, std::FILE* err = stderr)
        : json_(json), progress_(progress), out_(out), err_(err) {}

    bool json() const noexcept { return json_; }
    /// Writes one event line (only with --json).
    void emit(const std::string& line);
    /// Prints "warning: " + `text` as a line of its own on stderr, whatever
    /// the output mode (on a terminal, over the progress line, which the
    /// next update redraws).
    void warn(const std::string& text);
    /// On a terminal, redraws the progress line if it changed; in plain
    /// mode, prints a line when the pacer says one is due (by `p.nowMs`).
    /// With --json, emits a progress event every two seconds of `p.nowMs`.
    void progress(const ProgressState& p);
    /// The last progress line, ended with a newline: on a terminal always,
    /// in plain mode unless the last line printed showed the same counts.
    void finish(const ProgressState& p);

private:
    void printPlain(const ProgressState& p); // with mutex_ held

    const bool json_;
    const ProgressOutput progress_;
    std::FILE* out_;
    std::FILE* err_;
    std::mutex mutex_; // guards the fields below and the streams
    std::string lastLine_;
    std::int64_t lastEventMs_ = 0;
    ProgressPacer pacer_;
    std::optional<ProgressState> lastPlain_;
};

} // namespace swarm::submitter

#pragma once

#include "submitter/progress.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace swarm::submitter {

/// Where a run tells its researcher what happens: JSON-lines events on
/// stdout (`--json`), a live progress line on stderr (a terminal). Events
/// are built by progress.hpp's `event::` functions. Thread-safe.
class Reporter {
public:
    Reporter(bool json, bool progressLine, std::FILE* out = stdout, std::FILE* err = stderr)
        : json_(json), progressLine_(progressLine), out_(out), err_(err) {}

    bool json() const noexcept { return json_; }
    /// Writes one event line (only with --json).
    void emit(const std::string& line);
    /// Redraws the progress line if it changed (only on a terminal), and
    /// emits a progress event every two seconds of `p.nowMs`.
    void progress(const ProgressState& p);
    /// The last progress line, ended with a newline (only on a terminal).
    void finish(const ProgressState& p);

private:
    const bool json_;
    const bool progressLine_;
    std::FILE* out_;
    std::FILE* err_;
    std::mutex mutex_; // guards the fields below and the streams
    std::string lastLine_;
    std::int64_t lastEventMs_ = 0;
};

} // namespace swarm::submitter

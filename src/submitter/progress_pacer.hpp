#pragma once

#include "submitter/progress.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace swarm::submitter {

/// When a run whose stderr is not a terminal prints its next plain progress
/// line (as rsync and curl do in a log): once `everyMs` passed since the
/// last line, or as soon as another tenth of the units is decided, whichever
/// comes first. The first state it sees only sets the baseline, so a resumed
/// run does not print at once for the units decided before it. Pure: time
/// comes in as ProgressState::nowMs. Not thread-safe; the Reporter's lock
/// guards it.
class ProgressPacer {
public:
    static constexpr std::int64_t kEveryMs = 10'000;

    explicit ProgressPacer(std::int64_t everyMs = kEveryMs) : everyMs_(everyMs) {}

    /// Whether a line is due for `p`; when it is, counts it as printed.
    bool due(const ProgressState& p);

private:
    const std::int64_t everyMs_;
    std::optional<std::int64_t> lastMs_; // of the last line, or of the baseline
    std::size_t lastTenth_ = 0;
};

} // namespace swarm::submitter

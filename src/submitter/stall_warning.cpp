#include "submitter/stall_warning.hpp"

#include "submitter/diagnosis.hpp"

#include <fmt/format.h>

namespace swarm::submitter {

std::optional<std::string> StallWarning::check(const DiagnosisReport& report) {
    const auto quiet = report.writtenMs - report.lastProgressMs;
    const Blocker* first = report.firstBlocking();
    if (report.finished || quiet < afterMs_ || first == nullptr) {
        lastReason_.clear();
        return std::nullopt;
    }
    // The same reason again is news only after a much longer quiet spell.
    if (first->reason == lastReason_ && report.writtenMs - lastWarnMs_ < 10 * afterMs_)
        return std::nullopt;
    lastReason_ = first->reason;
    lastWarnMs_ = report.writtenMs;
    return fmt::format("no progress for {} s: {}: {}", quiet / 1000, first->reason, first->detail);
}

} // namespace swarm::submitter

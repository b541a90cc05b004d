#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swarm::submitter {

struct DiagnosisReport;

/// Decides when a run that does not progress says so: once nothing was
/// assigned and no result came for `afterMs`, the first blocking reason of
/// the diagnosis; again only when that reason changes or after ten times
/// as long. Pure: time comes from the reports. Not thread-safe.
class StallWarning {
public:
    explicit StallWarning(std::int64_t afterMs) : afterMs_(afterMs) {}

    /// The warning due at `report`, without the "warning: " prefix ("no
    /// progress for 60 s: no-bootstrap: ..."); nullopt when none is.
    std::optional<std::string> check(const DiagnosisReport& report);

private:
    std::int64_t afterMs_;
    std::string lastReason_; // "" while progressing
    std::int64_t lastWarnMs_ = 0;
};

} // namespace swarm::submitter

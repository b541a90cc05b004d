#include "submitter/progress_pacer.hpp"

namespace swarm::submitter {

namespace {
// How many whole tenths of the units are decided: 0..10.
std::size_t tenths(const ProgressState& p) {
    if (p.total == 0)
        return 10;
    return (p.valid + p.failed) * 10 / p.total;
}
} // namespace

bool ProgressPacer::due(const ProgressState& p) {
    const std::size_t tenth = tenths(p);
    if (!lastMs_) {
        lastMs_ = p.nowMs;
        lastTenth_ = tenth;
        return false;
    }
    if (tenth <= lastTenth_ && p.nowMs - *lastMs_ < everyMs_)
        return false;
    lastMs_ = p.nowMs;
    lastTenth_ = tenth;
    return true;
}

} // namespace swarm::submitter

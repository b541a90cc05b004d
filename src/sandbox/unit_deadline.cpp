#include "sandbox/unit_deadline.hpp"

#include <algorithm>

namespace swarm::sandbox {

using std::chrono::duration_cast;

void UnitDeadline::freeze(Clock::time_point now) {
    if (frozen_)
        return;
    frozen_ = true;
    frozenSince_ = now;
}

void UnitDeadline::thaw(Clock::time_point now) {
    if (!frozen_)
        return;
    frozen_ = false;
    frozenBefore_ += duration_cast<ms>(std::max(now, frozenSince_) - frozenSince_);
}

UnitDeadline::ms UnitDeadline::left(Clock::time_point now) const {
    const auto until = frozen_ ? frozenSince_ : now;
    const auto ran = duration_cast<ms>(until - start_) - frozenBefore_;
    return timeout_ - ran;
}

UnitDeadline::ms UnitDeadline::frozenFor(Clock::time_point now) const {
    if (!frozen_)
        return frozenBefore_;
    return frozenBefore_ + duration_cast<ms>(std::max(now, frozenSince_) - frozenSince_);
}

} // namespace swarm::sandbox

#include "submitter/requirements.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace swarm::submitter {

std::optional<std::string> unmetRequirement(const Requirements& req,
                                            const wire::CapacityRecord& record) {
    if (!req.arch.empty() &&
        std::find(req.arch.begin(), req.arch.end(), record.arch) == req.arch.end())
        return fmt::format("arch {}, not {}", record.arch.empty() ? "unknown" : record.arch,
                           fmt::join(req.arch, " or "));
    for (const auto& label : req.labels)
        if (std::find(record.labels.begin(), record.labels.end(), label) == record.labels.end())
            return fmt::format("no label '{}'", label);
    return std::nullopt;
}

} // namespace swarm::submitter

#include "submitter/requirements.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace swarm::submitter {

namespace {
std::string gib(double bytes) {
    return fmt::format("{:.1f} GiB", bytes / double(1ull << 30));
}
} // namespace

std::optional<std::string> unmetRequirement(const Requirements& req,
                                            const wire::CapacityRecord& record) {
    if (!req.arch.empty() &&
        std::find(req.arch.begin(), req.arch.end(), record.arch) == req.arch.end())
        return fmt::format("arch {}, not {}", record.arch.empty() ? "unknown" : record.arch,
                           fmt::join(req.arch, " or "));
    for (const auto& label : req.labels)
        if (std::find(record.labels.begin(), record.labels.end(), label) == record.labels.end())
            return fmt::format("no label '{}'", label);
    const double slots = std::max<std::uint32_t>(record.slots, 1);
    if (req.memoryPerSlot > 0 && double(record.memoryBytes) / slots < double(req.memoryPerSlot))
        return fmt::format("{} of memory per slot, under {}",
                           gib(double(record.memoryBytes) / slots), gib(double(req.memoryPerSlot)));
    if (req.coresPerSlot > 0 && double(record.cores) / slots < req.coresPerSlot)
        return fmt::format("{:.2g} cores per slot, under {:.2g}", double(record.cores) / slots,
                           req.coresPerSlot);
    return std::nullopt;
}

} // namespace swarm::submitter

#include "worker/other_cpu.hpp"

#include "sandbox/pid_namespace.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace swarm::worker {

std::optional<CpuTimes> parseProcStat(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with("cpu "))
            continue;
        std::istringstream fields(line.substr(4));
        // user nice system idle iowait irq softirq steal (guest time is
        // already part of user and nice). Steal is the hypervisor's, not
        // another process's: it counts as time, not as busy.
        std::uint64_t v[8] = {};
        int n = 0;
        while (n < 8 && fields >> v[n])
            ++n;
        if (n < 4)
            return std::nullopt;
        CpuTimes t;
        t.busy = v[0] + v[1] + v[2] + v[5] + v[6];
        t.total = t.busy + v[3] + v[4] + v[7];
        return t;
    }
    return std::nullopt;
}

std::optional<double> OtherCpu::sample() {
    auto now = parseProcStat(readStat_());
    if (!now)
        return std::nullopt;
    auto units = unitTicks_();
    std::uint64_t unitDelta = 0;
    for (const auto& [init, ticks] : units) {
        auto it = lastUnits_.find(init);
        const auto before = it == lastUnits_.end() ? 0 : it->second;
        unitDelta += ticks > before ? ticks - before : 0;
    }
    auto last = std::exchange(last_, now);
    lastUnits_ = std::move(units);
    if (!last || now->total <= last->total || now->busy < last->busy)
        return std::nullopt;
    const auto busy = now->busy - last->busy;
    const auto other = busy > unitDelta ? busy - unitDelta : 0;
    const double percent =
        100.0 * static_cast<double>(other) / static_cast<double>(now->total - last->total);
    return std::clamp(percent, 0.0, 100.0);
}

OtherCpu::ReadStat procStatReader() {
    return [] {
        std::ifstream in("/proc/stat");
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    };
}

OtherCpu::UnitTicks
unitTicksReader(std::function<std::vector<std::shared_ptr<const sandbox::UnitProcesses>>()> units) {
    return [units = std::move(units)] {
        std::map<pid_t, std::uint64_t> ticks;
        for (const auto& u : units())
            ticks[u->init()] = u->cpuTicks();
        return ticks;
    };
}

} // namespace swarm::worker

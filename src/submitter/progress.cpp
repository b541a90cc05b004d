#include "submitter/progress.hpp"

#include "base/json_writer.hpp"

#include <fmt/format.h>

namespace swarm::submitter {

std::optional<std::int64_t> etaMs(const ProgressState& p) {
    const std::size_t decided = p.valid + p.failed;
    if (decided >= p.total)
        return 0;
    if (decided <= p.decidedAtStart || p.nowMs <= p.startedMs)
        return std::nullopt;
    const double perUnit = static_cast<double>(p.nowMs - p.startedMs) /
                           static_cast<double>(decided - p.decidedAtStart);
    return static_cast<std::int64_t>(perUnit * static_cast<double>(p.total - decided) + 0.5);
}

std::string formatDuration(std::int64_t ms) {
    if (ms < 0)
        ms = 0;
    const std::int64_t s = (ms + 999) / 1000;
    if (s >= 3600)
        return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    if (s >= 60)
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

namespace {
// "14/40 done  3 running  1 failed  3 workers  ETA 1m40s"
std::string progressText(const ProgressState& p) {
    const auto eta = etaMs(p);
    return fmt::format("{}/{} done  {} running  {} failed  {} worker{}  ETA {}", p.valid, p.total,
                       p.running, p.failed, p.workers, p.workers == 1 ? "" : "s",
                       eta ? formatDuration(*eta) : "--");
}
} // namespace

std::string progressLine(const ProgressState& p, std::size_t width) {
    const std::size_t decided = p.valid + p.failed;
    std::string text = progressText(p);
    constexpr std::size_t kBar = 20;
    if (text.size() + kBar + 4 <= width) {
        const std::size_t filled = p.total ? decided * kBar / p.total : kBar;
        text = "[" + std::string(filled, '#') + std::string(kBar - filled, '.') + "]  " + text;
    }
    if (text.size() > width)
        text.resize(width);
    return text;
}

std::string plainProgressLine(const ProgressState& p) {
    return fmt::format("progress: {}  elapsed {}", progressText(p),
                       formatDuration(p.nowMs - p.startedMs));
}

std::string statusReport(std::string_view job, const Snapshot& state) {
    std::size_t valid = 0;
    std::size_t failed = 0;
    std::size_t inFlight = 0;
    for (const auto& u : state.units) {
        valid += u.state == UnitState::kValid;
        failed += u.state == UnitState::kFailed;
    }
    for (const auto& r : state.replicas)
        inFlight += r.state == ReplicaState::kInFlight;
    std::string out = fmt::format(
        "job {}: {} valid, {} failed, {} pending of {} units ({} replicas in flight)\n", job, valid,
        failed, state.units.size() - valid - failed, state.units.size(), inFlight);
    for (const auto& u : state.units) {
        if (u.state == UnitState::kFailed)
            out += fmt::format("  failed {}: {}\n", u.id, u.reason);
    }
    return out;
}

namespace event {

namespace {
base::JsonObject start(std::string_view name, std::int64_t timeMs) {
    base::JsonObject o;
    o.add("event", name).add("time_ms", timeMs);
    return o;
}

// An event about one replica given to a worker: its unit, replica and worker.
base::JsonObject aboutAssignment(std::string_view name, std::int64_t timeMs, const Assignment& a) {
    auto o = start(name, timeMs);
    o.add("unit", a.unitId).add("replica", a.replica).add("worker", a.worker);
    return o;
}
} // namespace

std::string jobStarted(std::int64_t timeMs, std::string_view job, std::size_t units,
                       const ReplicationPolicy& policy, bool resumed) {
    return start("job-started", timeMs)
        .add("job", job)
        .add("units", units)
        .add("replicas", policy.replicas)
        .add("quorum", policy.quorum)
        .add("resumed", resumed)
        .str();
}

std::string offerPosted(std::int64_t timeMs, const WorkerId& worker) {
    return start("offer-posted", timeMs).add("worker", worker).str();
}

std::string workerConnected(std::int64_t timeMs, const WorkerId& worker, std::string_view path,
                            std::string_view address) {
    return start("worker-connected", timeMs)
        .add("worker", worker)
        .add("path", path)
        .add("address", address)
        .str();
}

std::string workerDisconnected(std::int64_t timeMs, const WorkerId& worker,
                               std::string_view reason) {
    return start("worker-disconnected", timeMs).add("worker", worker).add("reason", reason).str();
}

std::string messageRefused(std::int64_t timeMs, const WorkerId& worker, std::string_view type,
                           std::string_view reason) {
    return start("message-refused", timeMs)
        .add("worker", worker)
        .add("message", type)
        .add("reason", reason)
        .str();
}

std::string replicaAssigned(std::int64_t timeMs, const Assignment& a) {
    return aboutAssignment("replica-assigned", timeMs, a)
        .add("lease_expires_ms", a.leaseExpiresMs)
        .str();
}

std::string inputsSent(std::int64_t timeMs, const Assignment& a) {
    return aboutAssignment("inputs-sent", timeMs, a).str();
}

std::string resultReceived(std::int64_t timeMs, std::string_view unit, std::uint32_t replica,
                           const WorkerId& worker, std::int64_t wallMs) {
    return start("result-received", timeMs)
        .add("unit", unit)
        .add("replica", replica)
        .add("worker", worker)
        .add("wall_ms", wallMs)
        .str();
}

std::string replicaEnded(std::int64_t timeMs, const ReplicaRecord& r) {
    auto o = start("replica-ended", timeMs);
    o.add("unit", r.unitId)
        .add("replica", r.replica)
        .add("worker", r.worker)
        .add("state", stateName(r.state));
    if (r.state == ReplicaState::kSucceeded || r.state == ReplicaState::kErrored)
        o.add("exit_code", static_cast<std::int64_t>(r.exitCode));
    if (r.digest)
        o.add("digest", r.digest->str());
    if (!r.reason.empty())
        o.add("reason", r.reason);
    if (r.state == ReplicaState::kGivenBack) {
        std::uint64_t bytes = 0;
        for (const auto& f : r.outputs)
            bytes += f.size;
        o.add("checkpoint_files", static_cast<std::uint64_t>(r.outputs.size()))
            .add("checkpoint_bytes", bytes);
    }
    return o.str();
}

std::string unitValid(std::int64_t timeMs, const UnitRecord& u) {
    auto o = start("unit-valid", timeMs);
    o.add("unit", u.id);
    if (u.digest)
        o.add("digest", u.digest->str());
    else
        o.addNull("digest");
    return o.add("agreed", u.agreed).str();
}

std::string unitFailed(std::int64_t timeMs, const UnitRecord& u) {
    return start("unit-failed", timeMs).add("unit", u.id).add("reason", u.reason).str();
}

std::string warning(std::int64_t timeMs, std::string_view message) {
    return start("warning", timeMs).add("message", message).str();
}

std::string jobCancelled(std::int64_t timeMs, std::size_t replicas, std::size_t workers) {
    return start("job-cancelled", timeMs).add("replicas", replicas).add("workers", workers).str();
}

std::string progress(const ProgressState& p) {
    auto o = start("progress", p.nowMs);
    o.add("total", p.total)
        .add("valid", p.valid)
        .add("failed", p.failed)
        .add("running", p.running)
        .add("workers", p.workers);
    if (auto eta = etaMs(p))
        o.add("eta_ms", *eta);
    else
        o.addNull("eta_ms");
    return o.str();
}

std::string jobFinished(std::int64_t timeMs, std::size_t total, std::size_t valid,
                        std::size_t failed, std::string_view resultsDir) {
    return start("job-finished", timeMs)
        .add("total", total)
        .add("valid", valid)
        .add("failed", failed)
        .add("results", resultsDir)
        .add("ok", valid == total)
        .str();
}

} // namespace event

} // namespace swarm::submitter

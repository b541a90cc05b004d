// `swarm-worker status` without --json: WorkerStatus as a short table.

#include "worker/worker.hpp"

#include <fmt/format.h>

namespace swarm::worker {

namespace {

std::string bytes(std::uint64_t n) {
    if (n >= (1ULL << 30))
        return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1ULL << 30));
    if (n >= (1ULL << 20))
        return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1ULL << 20));
    return fmt::format("{} KiB", (n + 1023) / 1024);
}

// A whole age limit: "7 d", "12 h", "90 min", "45 s".
std::string age(std::int64_t ms) {
    const auto s = ms / 1000;
    if (s >= 86400 && s % 86400 == 0)
        return fmt::format("{} d", s / 86400);
    if (s >= 3600 && s % 3600 == 0)
        return fmt::format("{} h", s / 3600);
    if (s >= 60 && s % 60 == 0)
        return fmt::format("{} min", s / 60);
    return fmt::format("{} s", s);
}

std::string elapsed(std::int64_t ms) {
    const auto s = ms / 1000;
    if (s < 120)
        return fmt::format("{} s", s);
    if (s < 7200)
        return fmt::format("{} min", s / 60);
    return fmt::format("{} h {} min", s / 3600, s / 60 % 60);
}

// A peer id is long: its first 12 characters tell peers apart in a table.
std::string shortId(const std::string& id) {
    return id.size() > 12 ? id.substr(0, 12) + "…" : id;
}

} // namespace

std::string WorkerStatus::text() const {
    std::string out;
    auto line = [&out](std::string_view key, const std::string& value) {
        out += fmt::format("{:<11}{}\n", key, value);
    };
    line("worker", peerId + (stopping ? " (stopping)" : ""));
    line("reach", reach.empty() ? "not known yet" : reach);
    line("schedule", schedule);
    line("suspended", suspended ? suspendedWhy : "no");
    line("freeze", freezeMethod);
    const auto cpu =
        maxOtherCpu == 0
            ? std::string("other processes' CPU not watched")
            : fmt::format("suspends while other processes use more than {}% of the machine (now "
                          "{:.0f}%)",
                          maxOtherCpu, otherCpuPercent);
    line("idle", cpu);
    // "logind not available: user activity not watched" says it all.
    const auto activity = userActivity.empty() ? std::string("not watched") : userActivity;
    line("", activity.starts_with("logind") ? activity : "user activity " + activity);
    line("slots", fmt::format("{}, {} running", slots, running.size()));
    std::string connected = submitters.empty() ? "none connected" : "";
    for (const auto& s : submitters)
        connected += (connected.empty() ? "" : ", ") + shortId(s);
    line("submitters", connected);
    if (!running.empty()) {
        line("running", fmt::format("{:<15}{:<24}{}", "SUBMITTER", "UNIT", "ELAPSED"));
        for (const auto& u : running)
            line("",
                 fmt::format("{:<15}{:<24}{}", shortId(u.submitter), u.unit, elapsed(u.elapsedMs)));
    }
    line("results",
         fmt::format("{} delivered, {} failed; {} messages refused", done, failed, refused));
    line("cache", fmt::format("{} of {}; unused {}: removed", bytes(cacheBytes), bytes(cacheLimit),
                              age(cacheMaxAgeMs)));
    line("images", fmt::format("{} loaded by this worker, {} of {}; unused {}: removed", imageCount,
                               bytes(imageBytes), bytes(imageLimit), age(imageMaxAgeMs)));
    line("held", fmt::format("{} result{} for submitters away, {} of {}", heldCount,
                             heldCount == 1 ? "" : "s", bytes(heldBytes), bytes(heldLimit)));
    line("offers", fmt::format("{} accepted, {} refused", offersAccepted, offersRefused));
    return out;
}

} // namespace swarm::worker

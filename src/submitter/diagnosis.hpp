#pragma once

#include "submitter/scheduler_store.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarm::submitter {

/// One worker's part in a reason: its peer id and what it did.
struct WorkerNote {
    std::string worker;
    std::string detail;
};

/// One reason a run waits, as `swarm-submit why` shows it. `reason` is a
/// stable name: "no-bootstrap", "no-trusted-worker", "unmet-requirements",
/// "connecting", "unreachable", "refused", "slots-busy",
/// "needs-more-workers", "quorum", "running", "finished".
struct Blocker {
    std::string reason;
    std::string detail; ///< one line with the facts
    /// False for what is only going on (running, connecting): the stall
    /// warning names the first blocking reason only.
    bool blocking = true;
    std::vector<WorkerNote> workers;
    /// The units it holds up; empty: every pending unit.
    std::vector<std::string> units;
};

/// What a run knows of why it waits: DIR/why.json.
struct DiagnosisReport {
    std::int64_t writtenMs = 0;
    std::int64_t startedMs = 0;
    std::int64_t lastProgressMs = 0; ///< the last assignment or result
    bool finished = false;
    std::vector<Blocker> blockers; ///< the most fundamental first
    /// The first blocking reason, if any.
    const Blocker* firstBlocking() const;
};

/// What the DHT side of a run knows (SwarmAccess::health()).
struct SwarmHealth {
    bool known = false; ///< false: no DHT (a fake swarm in tests)
    std::size_t dhtNodes = 0;
    std::string swarm;
    std::vector<std::string> bootstrap; ///< "host:port" as configured
    /// Worker records discovery skipped, by reason name ("untrusted", ...).
    std::vector<std::pair<std::string, std::uint64_t>> skipped;
};

/// The facts of one moment of a run, gathered by the job runner.
struct RunFacts {
    std::int64_t nowMs = 0;
    SwarmHealth swarm;
    std::vector<std::string> workersFound;    ///< trusted workers with slots
    std::map<std::string, std::string> unmet; ///< worker → requirement it misses
    std::set<std::string> connectedNow;
    std::set<std::string> connectedEver;
    std::uint32_t quorum = 1;
    std::size_t blockedUnits = 0; ///< Scheduler::blockedUnits()
    bool finished = false;
};

/// Names the concrete reasons a run does not progress, from the facts the
/// job runner feeds it (the DHT's health, the workers found, the offers it
/// posted, the sessions, the journal's snapshot). Remembers the offers and
/// when the run last progressed. Not thread-safe: the job runner's timer
/// thread owns it.
class Diagnosis {
public:
    explicit Diagnosis(std::int64_t startedMs);

    /// An offer with `endpoints` went to `worker`.
    void offered(const std::string& worker, const std::vector<std::string>& endpoints,
                 std::int64_t nowMs);
    /// The reasons now. A snapshot with more replicas issued or ended than
    /// last time counts as progress.
    DiagnosisReport diagnose(const RunFacts& facts, const Snapshot& snapshot);

    /// How long an offered worker may take to dial in before it counts as
    /// unreachable.
    static constexpr std::int64_t kDialGraceMs = 5'000;

private:
    struct OfferLog {
        std::size_t count = 0;
        std::int64_t firstMs = 0;
        std::vector<std::string> endpoints;
    };
    void dhtReasons(const RunFacts& f, std::vector<Blocker>& out) const;
    void workerReasons(const RunFacts& f, std::vector<Blocker>& out) const;
    void unitReasons(const RunFacts& f, const Snapshot& s, std::vector<Blocker>& out) const;

    std::int64_t startedMs_;
    std::int64_t lastProgressMs_;
    std::size_t progressMark_ = 0;
    bool marked_ = false;
    std::map<std::string, OfferLog> offers_;
};

/// why.json's text.
std::string diagnosisJson(const DiagnosisReport& report);
/// Reads why.json's text back; the error names what is wrong.
std::expected<DiagnosisReport, std::string> parseDiagnosis(std::string_view json);
/// DIR/why.json.
std::filesystem::path diagnosisPath(const std::filesystem::path& jobDir);
/// Writes DIR/why.json whole (a temporary file, then rename): a reader never
/// sees half of it. Returns what went wrong, if anything.
std::expected<void, std::string> writeDiagnosis(const std::filesystem::path& jobDir,
                                                const DiagnosisReport& report);

} // namespace swarm::submitter

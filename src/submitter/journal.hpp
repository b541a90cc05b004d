#pragma once

#include "submitter/job_spec.hpp"
#include "submitter/scheduler_store.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace swarm::submitter {

/// The job directory's durable state: `DIR/journal.sqlite` (SQLite, WAL,
/// synchronous=FULL). It holds the job spec snapshot (jobSpecToToml), the
/// units, every replica (worker, state, lease, digest, exit code, reason),
/// the outputs each successful replica reported, and the accepted result of
/// each valid unit.
///
/// Design: the journal *is* the scheduler's store. The Scheduler keeps its
/// working state in memory but hands every event's changes to commit()
/// (SchedulerStore) as one batch before it returns; commit() runs one
/// transaction. A crash therefore loses at most the event being processed,
/// whose effects were never acted on. On restart, load() returns a Snapshot
/// and Scheduler::restore() rebuilds from it: valid units stay valid (their
/// results are rewritten from blobs if needed, never recomputed), replicas
/// in flight whose lease lasts stay in flight (their workers keep results
/// for the job's batch id), the others become "abandoned" (they count
/// against max_total_results, not max_errors) and are reissued.
///
/// While a read-write Journal is open it holds an exclusive lock on
/// `DIR/journal.lock`, so two submitters cannot drive one job directory.
/// Throws std::system_error for I/O and SQLite failures. Not thread-safe:
/// one event loop owns it.
class Journal final : public SchedulerStore {
public:
    enum class Access { kReadWrite, kReadOnly };

    static std::filesystem::path path(const std::filesystem::path& jobDir) {
        return jobDir / "journal.sqlite";
    }
    /// True when `jobDir` already holds a journal (resume it, don't create).
    static bool exists(const std::filesystem::path& jobDir);
    /// True when a process holds `jobDir`'s lock now (a run or a resume is
    /// active). Probes with a shared lock taken and dropped at once, so a run
    /// starting in that instant may be refused as "in use"; false when there
    /// is no lock file or it cannot be opened.
    static bool inUse(const std::filesystem::path& jobDir);

    /// Creates the job directory (if needed) and a new journal with the job
    /// snapshot and every unit pending. Throws std::system_error (EEXIST)
    /// if a journal is already there.
    static Journal create(const std::filesystem::path& jobDir, const JobSpec& job);

    /// Opens an existing journal. kReadOnly takes no lock (for `status`).
    /// Throws std::system_error (ENOENT) if there is none, (EBUSY) if
    /// another process holds the directory.
    static Journal open(const std::filesystem::path& jobDir, Access access = Access::kReadWrite);

    Journal(Journal&&) noexcept;
    Journal& operator=(Journal&&) noexcept;
    ~Journal() override;

    /// The job's batch id: 32 lower-case hex digits, random, made with the
    /// journal (or on the first read-write open of an older one); every run
    /// of the job offers it, so workers hand results they kept to a run of
    /// this job only. "" for an older journal opened read-only.
    std::string batchId() const;

    /// The stored job spec, as TOML text (jobSpecToToml form).
    std::string specToml() const;
    /// The stored job spec parsed back (input files must still exist).
    std::expected<JobSpec, wire::Error> job() const;

    /// The job's inputs as the first run hashed them (JobRunner): one line
    /// per file, "unit<TAB>name<TAB>sha256:...<TAB>size"; "" until recorded.
    /// A resumed run compares it with the files as they are now.
    std::string inputListing() const;
    void recordInputListing(const std::string& listing);

    /// Every unit (job order) and replica (unit order, replica number).
    Snapshot load() const;

    /// When the researcher cancelled the job (Unix ms); nullopt when it was
    /// not, or a resume has run since.
    std::optional<std::int64_t> cancelledAt() const;
    /// Records a cancel of the job at `ms` (a live run's, after its
    /// scheduler gave its replicas back).
    void recordCancel(std::int64_t ms);
    /// A resume continues the job: it is no longer cancelled.
    void clearCancel();

    /// What cancelOffline() stopped.
    struct CancelTally {
        std::size_t replicas = 0;
        std::size_t workers = 0;
    };
    /// `swarm-submit cancel` with no run holding the job: in one
    /// transaction, every replica in flight ends given back with reason
    /// kResearcherCancel, and the cancel is recorded at `ms`.
    CancelTally cancelOffline(std::int64_t ms);

    /// Commits the batch in one transaction (SchedulerStore).
    void commit(const StateBatch& batch) override;

private:
    struct Impl;
    explicit Journal(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace swarm::submitter

#pragma once

#include "submitter/scheduler_store.hpp"
#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/error.hpp"

#include <cstddef>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarm::submitter {

/// Checks a file name that came from a peer (an output name in a Result)
/// and returns it as a relative path that stays inside whatever directory it
/// is joined to: wire::checkRelativePath's rule (the judge's), as
/// kInvalidArgument naming the problem.
std::expected<std::filesystem::path, wire::Error> safeRelativePath(std::string_view name);

/// Checks that a set of output names is usable together: each is safe, none
/// appears twice, and none is a directory prefix of another ("out" and
/// "out/x").
std::expected<void, wire::Error> checkOutputNames(const std::vector<OutputFile>& outputs);

/// One worker session of a run, for the summary: how the worker reached us.
struct SessionRecord {
    std::string worker;
    std::string path;    ///< "direct" or "relayed"
    std::string address; ///< the peer's address, or "via relay <id> (<host:port>)"
    std::int64_t startedMs = 0;
    std::int64_t endedMs = 0; ///< 0 while it lasts
    std::string reason;       ///< why it ended
};

/// The job directory's results: a content-addressed blob store
/// (`DIR/blobs/<hex>`) where output blobs land as they arrive from workers,
/// and the per-unit result directories (`DIR/results/<unit>/`) built from it.
///
/// Layout of `DIR/results/<unit>/`: one file per output of the accepted
/// replica under its own name, including `stdout` and `stderr`.
///
/// Every write is atomic (temp + fsync + rename), so a crash leaves either
/// the old or the new content, never a torn file. Throws std::system_error
/// (or std::filesystem::filesystem_error) for local I/O failures; returns
/// wire::Error for bad input from peers. Not thread-safe.
class ResultStore {
public:
    /// Creates `DIR/results` and `DIR/blobs` if missing.
    explicit ResultStore(std::filesystem::path jobDir);

    const std::filesystem::path& jobDir() const noexcept { return dir_; }
    /// `DIR/blobs`: one file per blob named by the 64 lower-case hex digits
    /// of its SHA-256, the same layout as net::BlobStore, so a BlobStore
    /// opened on this directory (with no eviction limit) can receive output
    /// blobs for writeUnit().
    std::filesystem::path blobDir() const { return dir_ / "blobs"; }
    std::filesystem::path blobPath(const wire::Digest& digest) const;
    bool hasBlob(const wire::Digest& digest) const;

    /// Stores a whole blob after checking that sha256(data) == digest
    /// (kMalformed otherwise; nothing is written).
    std::expected<void, wire::Error> putBlob(const wire::Digest& digest, wire::ByteView data);

    /// Moves a file already on local disk (e.g. assembled from BlobChunks)
    /// into the store after hashing it; kMalformed and the file removed if
    /// its digest differs.
    std::expected<void, wire::Error> importBlobFile(const wire::Digest& digest,
                                                    const std::filesystem::path& file);

    /// Writes `DIR/results/<unitId>/` from blobs, replacing any earlier
    /// content as a whole: it is built in a temporary directory and renamed
    /// into place. Idempotent, so a resumed run can redo it for a unit the
    /// journal says is valid. kInvalidArgument for an unsafe unit id or
    /// output names, kNotFound when a blob is missing.
    std::expected<void, wire::Error> writeUnit(std::string_view unitId,
                                               const std::vector<OutputFile>& outputs);

    /// For a resumed run: writes the result directory of every valid unit in
    /// `state` that has none yet (the run died between committing the unit
    /// and writing it), from its accepted replica's outputs. Returns the
    /// units that could not be written and why (e.g. a blob is missing).
    std::vector<std::pair<std::string, wire::Error>> writeMissingUnits(const Snapshot& state);

    /// Where writeUnit puts a unit's files.
    std::filesystem::path unitDir(std::string_view unitId) const;

    /// Writes `DIR/summary.json` (see summaryJson) atomically.
    void writeSummary(std::string_view jobName, const Snapshot& state,
                      const std::vector<SessionRecord>& sessions = {}) const;

private:
    std::filesystem::path dir_;
};

/// The summary document: `{"job":..,"units":[{"id","state","digest",
/// "agreed":[workers],"attempts":N,"replicas":[{"replica","worker","state",
/// "exit_code","digest","reason"}],"reason"}],"counts":{...},
/// "sessions":[{"worker","path","address","started_ms","ended_ms","reason"}]}`.
/// `attempts` counts replicas issued (give-backs excluded). Pure.
std::string summaryJson(std::string_view jobName, const Snapshot& state,
                        const std::vector<SessionRecord>& sessions = {});

} // namespace swarm::submitter

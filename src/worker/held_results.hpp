#pragma once

#include "net/blob_store.hpp"
#include "net/error.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace swarm::wire {
class Clock;
}

namespace swarm::worker {

/// How long and how much the worker keeps results nobody could take.
struct HeldLimits {
    std::int64_t maxAgeMs = std::int64_t{24} * 3600 * 1000;
    std::uint64_t maxBytes = std::uint64_t{1} << 30;
};

/// One result kept for a submitter that was away when its unit ended.
struct HeldResult {
    std::string id;        ///< the record's name in the store
    wire::Result result;   ///< exactly as it would have been sent
    std::string submitter; ///< peer id of the submitter it is for
    std::string batch;     ///< the batch id of the session's offer
    std::int64_t keptMs = 0;
    std::uint64_t bytes = 0; ///< its outputs' bytes
};

/// Results of units whose session was gone when they ended, kept on disk
/// until a session of the same submitter and batch takes them
/// (`HOME/held/`, 0700). Crash-safe: a result's output blobs are written
/// (hard-linked out of the input cache, or copied) and fsynced under
/// `blobs/<64 hex>` first, then its record (`<id>.held`, msgpack) through a
/// temporary file, fsync and rename. At start a half-written record, a
/// record whose blobs are missing and a blob no record names are removed.
///
/// Bounded by HeldLimits: the oldest results are dropped first, each drop
/// logged with its unit and submitter. Blobs shared by several results are
/// stored once. Thread-safe: one mutex; file I/O happens under it (results
/// are kept and taken rarely).
class HeldResults {
public:
    /// Opens or creates `dir`, cleans what a crash left and loads what is
    /// held, then applies the limits. `clock` must outlive it. Throws
    /// std::system_error if the directory cannot be made.
    HeldResults(std::filesystem::path dir, HeldLimits limits, const wire::Clock& clock);

    /// Where each output blob of a result to keep is now (the cache).
    using BlobSource = std::function<std::filesystem::path(const wire::Digest&)>;

    /// Keeps `result` for (`submitter`, `batch`). False (logged) if a blob
    /// or the record could not be written: nothing of it is kept then.
    bool keep(const wire::Result& result, const std::string& submitter, const std::string& batch,
              const BlobSource& source);

    /// The held results for (`submitter`, `batch`) no one is delivering
    /// now, oldest first; they are claimed until delivered() or released().
    std::vector<HeldResult> claim(const std::string& submitter, const std::string& batch);
    /// A claimed result went out: its record and unshared blobs are removed.
    void delivered(const std::string& id);
    /// A claimed result could not go out: it is held again.
    void release(const std::string& id);

    /// Opens a held blob for sending.
    std::expected<net::BlobFile, net::Error> openBlob(const wire::Digest& digest) const;

    /// Drops results older than the age limit (and any over the byte limit).
    void expire();

    std::size_t count() const;
    std::uint64_t bytes() const;
    const std::filesystem::path& dir() const noexcept { return dir_; }

private:
    void load();
    void enforceLocked();
    void dropLocked(const std::string& id, const char* why);
    void removeRecordLocked(const std::string& id);
    std::filesystem::path blobPath(const wire::Digest& digest) const;

    const std::filesystem::path dir_;
    const HeldLimits limits_;
    const wire::Clock& clock_;
    mutable std::mutex mutex_;
    std::map<std::string, HeldResult> held_; // by id
    std::set<std::string> claimed_;
    std::uint64_t bytes_ = 0;
};

} // namespace swarm::worker

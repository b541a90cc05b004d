#pragma once

#include "base/sha256.hpp"
#include "net/error.hpp"
#include "net/socket.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"
#include "wire/digest.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace swarm::net {

struct BlobStoreOptions {
    /// Total size of stored blobs; least recently used ones are evicted to
    /// stay under it. A single blob larger than this is refused.
    std::uint64_t maxBytes = std::uint64_t{4} << 30;
    /// expire() removes blobs unused for longer than this (ms); 0: never.
    std::int64_t maxAgeMs = 0;
    /// fsync each blob before it gets its final name (crash safety of the
    /// cache; benchmarks may turn it off).
    bool fsync = true;
};

class BlobStore;

/// Writes one incoming blob to a temporary file in the store; commit()
/// verifies size and SHA-256 and only then renames it to its final name.
/// Destroying an uncommitted writer deletes the temporary file, so a
/// partial blob is never visible under its final name. Move-only; one
/// thread at a time.
class BlobWriter {
public:
    BlobWriter(BlobWriter&& other) noexcept;
    BlobWriter& operator=(BlobWriter&&) = delete;
    BlobWriter(const BlobWriter&) = delete;
    ~BlobWriter();

    /// Appends bytes. kTooLarge past the announced size; kIo on disk errors.
    std::expected<void, Error> append(wire::ByteView data);
    /// Bytes appended so far.
    std::uint64_t written() const noexcept { return written_; }
    /// The announced size.
    std::uint64_t size() const noexcept { return size_; }
    /// Verifies and publishes the blob. kTruncated if fewer bytes than
    /// announced, kCorrupt if the hash differs (the data is discarded), kIo.
    std::expected<void, Error> commit();

private:
    friend class BlobStore;
    BlobWriter(BlobStore& store, const wire::Digest& digest, std::uint64_t size,
               std::filesystem::path temp, base::UniqueFd fd);
    void discard() noexcept;

    BlobStore* store_;
    wire::Digest digest_;
    std::uint64_t size_;
    std::uint64_t written_ = 0;
    base::Sha256 hash_;
    std::filesystem::path temp_;
    base::UniqueFd fd_;
    bool done_ = false;
};

/// An open blob for reading; the file stays readable even if the blob is
/// evicted meanwhile.
struct BlobFile {
    base::UniqueFd fd;
    std::uint64_t size = 0;
};

/// A content-addressed cache directory: `<dir>/<64 hex>` per blob, written
/// only by rename from `<dir>/.partial-*`. Least-recently-used eviction
/// under a size limit; "last use" is the file's mtime (set from `clock`), so
/// the order survives restarts. Thread-safe: all methods may be called from
/// any thread. Blobs in the directory are trusted to match their names
/// (only this class writes them, after verifying).
class BlobStore {
public:
    /// Opens or creates `dir` (0700), deletes leftover partial files,
    /// indexes the blobs and evicts down to the limit. `clock` must outlive
    /// the store. Throws std::system_error on I/O errors.
    BlobStore(std::filesystem::path dir, BlobStoreOptions options, const wire::Clock& clock);

    const std::filesystem::path& dir() const noexcept { return dir_; }
    /// Final path of a blob (whether or not it is present).
    std::filesystem::path pathOf(const wire::Digest& digest) const;

    bool contains(const wire::Digest& digest) const;
    /// Those of `wanted` not in the store, in order, without duplicates.
    /// Present ones count as used (they are about to be needed).
    std::vector<wire::Digest> missing(std::span<const wire::Digest> wanted);
    /// Size of a stored blob.
    std::optional<std::uint64_t> sizeOf(const wire::Digest& digest) const;
    /// Opens a blob for reading and marks it used; kNotFound if absent.
    std::expected<BlobFile, Error> open(const wire::Digest& digest);

    /// Starts writing a blob of `size` bytes expected to hash to `digest`.
    /// kTooLarge if it can never fit. Throws std::system_error on I/O.
    std::expected<BlobWriter, Error> begin(const wire::Digest& digest, std::uint64_t size);
    /// Stores bytes (hashing them); returns their digest.
    std::expected<wire::Digest, Error> put(wire::ByteView data);
    /// Copies a local file into the store; returns its digest.
    std::expected<wire::Digest, Error> putFile(const std::filesystem::path& path);

    /// Keeps a blob from eviction until unpin() (counted). False if absent.
    bool pin(const wire::Digest& digest);
    void unpin(const wire::Digest& digest);
    /// Deletes a blob (pinned or not). False if absent.
    bool remove(const wire::Digest& digest);

    /// Removes the blobs not pinned and unused for longer than
    /// BlobStoreOptions::maxAgeMs; returns how many bytes went.
    std::uint64_t expire();

    std::uint64_t usedBytes() const;
    std::size_t count() const;
    std::uint64_t maxBytes() const noexcept { return options_.maxBytes; }
    /// Stored digests, least recently used first.
    std::vector<wire::Digest> lruOrder() const;

private:
    friend class BlobWriter;
    struct Entry {
        std::uint64_t size = 0;
        std::int64_t lastUseMs = 0;
        std::uint64_t seq = 0; // tie-break for equal timestamps
        int pins = 0;
    };
    void touchLocked(const wire::Digest& digest, Entry& entry);
    void evictLocked(const wire::Digest* keep);
    std::expected<void, Error> publish(BlobWriter& writer);

    std::filesystem::path dir_;
    BlobStoreOptions options_;
    const wire::Clock& clock_;
    mutable std::mutex mutex_;
    std::map<wire::Digest, Entry> entries_;
    std::uint64_t used_ = 0;
    std::uint64_t seq_ = 0;
};

} // namespace swarm::net

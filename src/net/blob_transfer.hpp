#pragma once

// Content-addressed blob transfer over a Session. The receiver asks for the
// digests it lacks with one NeedBlobs; the sender answers each digest, in
// order, with BlobChunks (offset, total, at most kBlobChunkSize bytes each;
// an empty blob is one chunk with total 0) or, if it lacks the blob, with an
// ErrorMsg{kBlobMissingCode}. The receiver verifies the SHA-256 of the whole
// blob before it gets its final name in the BlobStore.

#include "net/blob_store.hpp"
#include "net/error.hpp"
#include "net/session.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <span>

namespace swarm::net {

inline constexpr std::size_t kBlobChunkSize = 256 * 1024;
/// ErrorMsg code a sender uses for "I do not have that blob".
inline constexpr std::uint32_t kBlobMissingCode = 404;
/// Most digests in one NeedBlobs (well under the unpack array limit).
inline constexpr std::size_t kMaxNeedBlobs = 1024;

wire::Digest toDigest(const wire::RawDigest& raw) noexcept;
wire::RawDigest toRaw(const wire::Digest& digest) noexcept;

struct FetchOptions {
    /// How long to wait for each chunk to start arriving.
    std::chrono::milliseconds idle{30'000};
    /// Refuse blobs announced larger than this (the store's limit applies too).
    std::uint64_t maxBlobBytes = std::uint64_t{16} << 30;
    /// Extra requests for blobs that failed verification (0 = fail at once).
    int retries = 1;
    /// Called with any message other than a chunk or an ErrorMsg arriving
    /// during the fetch (e.g. a Cancel); return false to abort the fetch
    /// with kProtocol. Unset: any other message aborts.
    std::function<bool(const wire::RawMessage&)> onOther;
    /// Whether a blob the store already holds may be used for this peer
    /// (knowing a digest is not proof of having the content): one it may
    /// not is asked for and received again. Unset: any blob held.
    std::function<bool(const wire::Digest&)> usable;
};

/// A BlobChunk decoded without copying its data: `data` points into the
/// RawMessage it came from and is valid while that message lives.
struct ChunkView {
    wire::RawDigest digest{};
    std::uint64_t offset = 0;
    std::uint64_t total = 0;
    wire::ByteView data;
};

/// The chunk in `raw`, with the checks and outcomes of
/// wire::bodyAs<wire::BlobChunk>(raw). Never throws.
std::expected<ChunkView, wire::Error> chunkView(const wire::RawMessage& raw);

/// Sends one blob from `store` as chunks. If the store lacks it, sends an
/// ErrorMsg{kBlobMissingCode} and returns kNotFound (the session stays
/// usable). Blocks; bounded by the session's write deadline per chunk.
std::expected<void, Error> sendBlob(Session& session, BlobStore& store, const wire::Digest& digest);

/// Sends one blob from a file already open (whose content hashes to
/// `digest`) as chunks, like sendBlob(). Blocks.
std::expected<void, Error> sendBlobFile(Session& session, const wire::Digest& digest,
                                        const BlobFile& file);

/// Answers a NeedBlobs: sendBlob() for each digest in order. Missing blobs
/// are answered with ErrorMsg and skipped; only a session failure is an error.
std::expected<void, Error> serveBlobs(Session& session, BlobStore& store,
                                      const wire::NeedBlobs& request);

/// Receives the chunks of one blob (which must be the next one the peer
/// sends) into `store`. kCorrupt if the content does not match (nothing is
/// stored; the session stays usable), kNotFound if the peer lacks it,
/// kProtocol/kTooLarge (session broken) for chunks that do not fit together.
std::expected<void, Error> receiveBlob(Session& session, BlobStore& store,
                                       const wire::Digest& digest, const FetchOptions& options);

/// Makes sure every digest in `wanted` is in `store`: asks the peer for the
/// ones missing (one NeedBlobs per kMaxNeedBlobs), receives them, and asks
/// again (up to options.retries rounds) for those that failed verification.
/// Fails with the first blob that could not be fetched.
std::expected<void, Error> fetchBlobs(Session& session, BlobStore& store,
                                      std::span<const wire::Digest> wanted,
                                      const FetchOptions& options = {});

} // namespace swarm::net

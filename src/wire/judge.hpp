#pragma once

// The judge: every field of every stream message that comes from a peer is
// checked here, in one place, by both sides. bodyAs<T>() calls judge() on
// each body it decodes, so no message reaches a worker or a submitter
// unjudged. A message that fails is refused whole; the Error (code
// kRefused) names the message and the field, e.g.
//   assign.unitId: '../x' is not a safe id
// and quotes at most a short, printable excerpt of the hostile value.
// Texts meant for humans (reasons, error messages, software names) are not
// refused for their bytes: invalid UTF-8 and control characters are
// replaced, and over-long texts are cut, in place.
//
// The limits below are the protocol's; docs/protocol.md lists them.

#include "wire/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace swarm::wire {

using RawDigest = std::array<std::uint8_t, 32>;

struct Hello;
struct RequestWork;
struct Assign;
struct NeedBlobs;
struct BlobChunk;
struct Progress;
struct Result;
struct Cancel;
struct Bye;
struct ErrorMsg;
struct NoWork;
struct WorkReady;
struct RelayReserve;
struct RelayReserved;
struct RelayConnect;
struct RelayIncoming;
struct RelayAccept;
struct PunchPlan;
struct PunchResult;
struct RelayOpened;
struct RelayData;
struct Follow;
struct LogChunk;
struct CapacityRecord;
struct Offer;

namespace limits {
inline constexpr std::size_t kIdBytes = 128;         ///< unit ids
inline constexpr std::uint32_t kReplicas = 1 << 16;  ///< replica numbers are below this
inline constexpr std::size_t kNameBytes = 1024;      ///< a file name (relative path)
inline constexpr std::size_t kNameComponent = 255;   ///< one component of it
inline constexpr std::size_t kInputs = 1024;         ///< inputs of one unit
inline constexpr std::size_t kOutputPatterns = 256;  ///< outputs a unit asks to collect
inline constexpr std::size_t kResultOutputs = 4096;  ///< outputs in one result
inline constexpr std::size_t kArgs = 1024;           ///< argv entries
inline constexpr std::size_t kArgBytes = 128 * 1024; ///< argv, all entries together
inline constexpr std::size_t kEnvEntries = 256;
inline constexpr std::size_t kEnvNameBytes = 128;
inline constexpr std::size_t kEnvBytes = 64 * 1024; ///< names and values together
inline constexpr std::size_t kImageBytes = 255;
inline constexpr std::size_t kDigests = 1024;           ///< in one need-blobs
inline constexpr std::uint64_t kBlobBytes = 1ull << 40; ///< one blob (inputs, outputs, images)
inline constexpr std::uint32_t kSlots = 1024;
inline constexpr std::int64_t kTimeoutMs = 30ll * 24 * 3600 * 1000; ///< 30 days
inline constexpr std::int64_t kMaxMs = 1ll << 53;                   ///< any time or duration in ms
inline constexpr std::uint64_t kMemoryMin = 4 << 20;                ///< 4 MiB (0: the worker's own)
inline constexpr std::uint64_t kMemoryMax = 1ull << 44;
inline constexpr double kCpusMin = 0.001; ///< (0: the worker's own)
inline constexpr double kCpusMax = 4096;
inline constexpr std::uint32_t kPidsMin = 2; ///< (0: the worker's own)
inline constexpr std::uint32_t kPids = 1 << 22;
inline constexpr std::size_t kInputNameBytes = 200; ///< an input's name
inline constexpr std::size_t kSoftwareBytes = 128;
inline constexpr std::size_t kReasonBytes = 1024; ///< cancel and bye reasons
inline constexpr std::size_t kErrorBytes = 4096;  ///< error texts
inline constexpr std::size_t kGivenBack = 4096;
inline constexpr std::size_t kLogChunkBytes = 64 * 1024; ///< data of one log-chunk
} // namespace limits

/// Unit ids: 1-128 of [A-Za-z0-9._-], not starting with '.' or '-'. Safe as
/// one path component, but the worker never builds a path from it anyway.
bool isSafeId(std::string_view id) noexcept;

/// A relative path that stays below whatever directory it is joined to:
/// non-empty, at most limits::kNameBytes, no NUL, control character or
/// backslash, not absolute, no empty, "." or ".." component, components of
/// at most limits::kNameComponent bytes. The error says which rule broke.
std::expected<void, std::string> checkRelativePath(std::string_view name);

/// An image reference: `name[:tag][@sha256:<64 hex>]` with a lower-case
/// name of `/`-separated components (the first may be a registry host with
/// a port), or an image id `sha256:<64 hex>`; at most limits::kImageBytes.
bool isImageReference(std::string_view ref) noexcept;

/// Replaces ill-formed UTF-8 (overlongs, surrogates, past U+10FFFF, stray
/// bytes) and control characters (C0 but tab, DEL, C1) with U+FFFD, and
/// cuts `text` to at most `maxBytes` bytes at a character boundary, ending
/// in "…" when it cut (when maxBytes leaves room for it).
void cleanText(std::string& text, std::size_t maxBytes);

/// About `maxBytes` of `value` for quoting in a reason: printable ASCII
/// kept, anything else as \xNN, "…" added when cut.
std::string excerpt(std::string_view value, std::size_t maxBytes = 40);

/// One judge per message type. Each returns kRefused naming the field that
/// broke its rule; texts are cleaned in place. Never throw.
std::expected<void, Error> judge(Hello& msg);
std::expected<void, Error> judge(RequestWork& msg);
std::expected<void, Error> judge(Assign& msg);
std::expected<void, Error> judge(NeedBlobs& msg);
std::expected<void, Error> judge(BlobChunk& msg);
std::expected<void, Error> judge(Progress& msg);
std::expected<void, Error> judge(Result& msg);
std::expected<void, Error> judge(Cancel& msg);
std::expected<void, Error> judge(Bye& msg);
std::expected<void, Error> judge(ErrorMsg& msg);
std::expected<void, Error> judge(NoWork& msg);
std::expected<void, Error> judge(WorkReady& msg);
/// Relay messages: peer ids must parse; observed addresses are "ip:port"
/// or "[ip6]:port" text (≤ 64 bytes, or empty: unknown); times and limits
/// are not negative.
std::expected<void, Error> judge(RelayReserve& msg);
std::expected<void, Error> judge(RelayReserved& msg);
std::expected<void, Error> judge(RelayConnect& msg);
std::expected<void, Error> judge(RelayIncoming& msg);
std::expected<void, Error> judge(RelayAccept& msg);
std::expected<void, Error> judge(PunchPlan& msg);
std::expected<void, Error> judge(PunchResult& msg);
std::expected<void, Error> judge(RelayOpened& msg);
std::expected<void, Error> judge(RelayData& msg);
/// Unit id and replica as in assign.
std::expected<void, Error> judge(Follow& msg);
/// Unit id and replica as in assign; stream "stdout" or "stderr"; data at
/// most limits::kLogChunkBytes; offset + data within limits::kBlobBytes.
/// Whether the session follows that replica, and offsets moving forward,
/// are the receiver's to check.
std::expected<void, Error> judge(LogChunk& msg);

/// DHT records, after their envelope verified: texts (arch, os, podman,
/// software, labels, job id) cleaned; slot counts bounded; an offer's
/// endpoints ≤ 16, each printable ASCII without spaces, ≤ 256 bytes; a
/// capacity record's relays ≤ 4 of ≤ 64 bytes; an offer's batchId empty or
/// 32 lower-case hex digits.
std::expected<void, Error> judge(CapacityRecord& record);
std::expected<void, Error> judge(Offer& offer);

/// The rules of judge(BlobChunk&) for a chunk read without copying its data
/// (net::chunkView).
std::expected<void, Error> judgeChunk(const RawDigest& digest, std::uint64_t offset,
                                      std::uint64_t total, std::size_t dataBytes);

/// The unit a refused assign or result names, if its unitId and replica
/// themselves pass: the side that refused can then answer for that unit
/// alone. Never throws.
struct UnitKey {
    std::string unitId;
    std::uint32_t replica = 0;
};

} // namespace swarm::wire

#pragma once

// Messages of the worker <-> submitter stream. Each frame's payload is the
// msgpack array `[type: uint, body: map]`; bodies are named maps with a
// `version` key. Limits are in docs/protocol.md.

#include "wire/bytes.hpp"
#include "wire/codec.hpp"
#include "wire/error.hpp"
#include "wire/judge.hpp"

#include <msgpack.hpp>

#include <array>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swarm::wire {

enum class MsgType : std::uint16_t {
    kHello = 1,
    kRequestWork = 2,
    kAssign = 3,
    kNeedBlobs = 4,
    kBlobChunk = 5,
    kProgress = 6,
    kResult = 7,
    kCancel = 8,
    kBye = 9,
    kError = 10,
    kNoWork = 11,
    kWorkReady = 12,
    // The relay's own messages (docs/protocol.md "Relay"): between a peer
    // and a relay, never between a worker and a submitter.
    kRelayReserve = 13,
    kRelayReserved = 14,
    kRelayConnect = 15,
    kRelayIncoming = 16,
    kRelayAccept = 17,
    kRelayOpened = 18,
    kRelayData = 19,
    // Inside a just-opened circuit, before its TLS (docs/protocol.md "Hole
    // punching"): between a worker and a submitter, through the relay.
    kPunchPlan = 20,
    kPunchResult = 21,
    kFollow = 22,
    kLogChunk = 23,
};

/// The highest message type this build knows.
inline constexpr MsgType kLastMsgType = MsgType::kLogChunk;

const char* msgTypeName(MsgType type) noexcept;

/// First message from the worker: proves it holds the offer it answers.
/// Version 2 and later (Hello::kWithNoWork): the worker understands `no-work`
/// and `work-ready`. Version 3 and later (Hello::kWithFollow): it also
/// understands `follow` and answers with `log-chunk`s.
struct Hello {
    static constexpr MsgType kType = MsgType::kHello;
    static constexpr std::uint32_t kWithNoWork = 2;
    static constexpr std::uint32_t kWithFollow = 3;
    std::uint32_t version = 1;
    std::array<std::uint8_t, 16> token{}; ///< the offer's one-time token
    std::string software;
    std::uint32_t slots = 0;
    MSGPACK_DEFINE_MAP(version, token, software, slots)
};

/// Worker asks for up to `slots` more units.
struct RequestWork {
    static constexpr MsgType kType = MsgType::kRequestWork;
    std::uint32_t version = 1;
    std::uint32_t slots = 1;
    MSGPACK_DEFINE_MAP(version, slots)
};

/// Submitter hands back `slots` of the worker's requests it has no unit
/// for now, so the worker can give those slots to other submitters. Sent
/// only to workers whose hello is Hello::kWithNoWork or later.
struct NoWork {
    static constexpr MsgType kType = MsgType::kNoWork;
    std::uint32_t version = 1;
    std::uint32_t slots = 0;
    MSGPACK_DEFINE_MAP(version, slots)
};

/// Submitter to a worker it answered `no-work`: there is a unit for it now
/// (a replica was reissued, a vote needs another), so ask again.
struct WorkReady {
    static constexpr MsgType kType = MsgType::kWorkReady;
    std::uint32_t version = 1;
    MSGPACK_DEFINE_MAP(version)
};

struct FileRef {
    std::string name; ///< relative path inside the unit's work dir
    RawDigest digest{};
    std::uint64_t size = 0;
    MSGPACK_DEFINE_MAP(name, digest, size)
};

/// Submitter gives one replica of a unit to the worker under a lease.
struct Assign {
    static constexpr MsgType kType = MsgType::kAssign;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    std::string image;        ///< reference, or "" when imageArchive is set
    RawDigest imageArchive{}; ///< shipped image archive blob (all zero: none)
    std::vector<std::string> command;
    std::map<std::string, std::string> env;
    std::vector<FileRef> inputs;
    std::vector<std::string> outputs; ///< paths to collect, relative to work dir
    std::int64_t timeoutMs = 0;
    std::uint64_t memoryBytes = 0;
    double cpus = 0;
    std::uint32_t pids = 0; ///< process limit asked for (0: the worker's own)
    std::int64_t leaseExpiresMs = 0;
    MSGPACK_DEFINE_MAP(version, unitId, replica, image, imageArchive, command, env, inputs, outputs,
                       timeoutMs, memoryBytes, cpus, pids, leaseExpiresMs)
};

/// Either side asks the other for blobs it lacks.
struct NeedBlobs {
    static constexpr MsgType kType = MsgType::kNeedBlobs;
    std::uint32_t version = 1;
    std::vector<RawDigest> digests;
    MSGPACK_DEFINE_MAP(version, digests)
};

/// One piece of a content-addressed blob; the receiver verifies the whole.
struct BlobChunk {
    static constexpr MsgType kType = MsgType::kBlobChunk;
    std::uint32_t version = 1;
    RawDigest digest{};
    std::uint64_t offset = 0;
    std::uint64_t total = 0;
    Bytes data;
    MSGPACK_DEFINE_MAP(version, digest, offset, total, data)
};

struct Progress {
    static constexpr MsgType kType = MsgType::kProgress;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    std::string state; ///< "fetching", "running", "uploading"
    std::int64_t elapsedMs = 0;
    MSGPACK_DEFINE_MAP(version, unitId, replica, state, elapsedMs)
};

/// Outcome of one replica. Output blobs follow as BlobChunks on request.
struct Result {
    static constexpr MsgType kType = MsgType::kResult;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    std::int32_t exitCode = -1;
    bool timedOut = false;
    bool oomKilled = false;
    std::int64_t wallMs = 0;
    std::vector<FileRef> outputs; ///< includes "stdout" and "stderr"
    std::string error;            ///< non-empty if the worker could not run it
    /// The worker's log capture dropped bytes of stdout (stderr) past its
    /// cap on the two together; absent from older workers (false).
    bool stdoutTruncated = false;
    bool stderrTruncated = false;
    /// The worker refused the unit before running it, for a rule of its own
    /// its capacity record cannot show (image policy, memory, timeout):
    /// the unit is not at fault. Implies `error` and no outputs. Absent
    /// (false) from older workers.
    bool refused = false;
    /// The worker gives the replica back unfinished (it stops, or its
    /// schedule window closed): not a result to vote with and not an error.
    /// `outputs` are only the unit's checkpoint files, named "ckpt/<path>"
    /// (none if it kept none or they were over the cap: then `error` says
    /// why); exitCode is -1. Absent (false) from older workers.
    bool givenBack = false;
    MSGPACK_DEFINE_MAP(version, unitId, replica, exitCode, timedOut, oomKilled, wallMs, outputs,
                       error, stdoutTruncated, stderrTruncated, refused, givenBack)
};

struct Cancel {
    static constexpr MsgType kType = MsgType::kCancel;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    std::string reason;
    MSGPACK_DEFINE_MAP(version, unitId, replica, reason)
};

/// Clean goodbye; a worker lists the replicas it gives back.
struct Bye {
    static constexpr MsgType kType = MsgType::kBye;
    std::uint32_t version = 1;
    std::string reason;
    std::vector<std::string> givenBack; ///< "unitId/replica"
    MSGPACK_DEFINE_MAP(version, reason, givenBack)
};

/// ErrorMsg code for a message the judge refused whose unit could not be
/// named (a refused assign with a bad unit id or replica).
inline constexpr std::uint32_t kRefusedCode = 400;

struct ErrorMsg {
    static constexpr MsgType kType = MsgType::kError;
    std::uint32_t version = 1;
    std::uint32_t code = 0;
    std::string message;
    MSGPACK_DEFINE_MAP(version, code, message)
};

/// Submitter asks the worker to stream (`on`) or stop streaming a running
/// replica's stdout and stderr as log-chunks. Sent only to workers whose
/// hello is Hello::kWithFollow or later. An `on` while already streaming
/// starts again from the oldest bytes the worker still keeps; an `on` for
/// a replica not started yet takes effect when it starts.
struct Follow {
    static constexpr MsgType kType = MsgType::kFollow;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    bool on = true;
    MSGPACK_DEFINE_MAP(version, unitId, replica, on)
};

/// Worker to a submitter that follows a replica: bytes of its stdout or
/// stderr at `offset` in that stream (counting only bytes the worker's log
/// cap kept). A gap between chunks is bytes the worker dropped (its window
/// overflowed or began later). `truncated`: the log cap dropped this
/// stream's later bytes. `end`: the replica ended; no more chunks follow
/// for it.
struct LogChunk {
    static constexpr MsgType kType = MsgType::kLogChunk;
    std::uint32_t version = 1;
    std::string unitId;
    std::uint32_t replica = 0;
    std::string stream; ///< "stdout" or "stderr"
    std::uint64_t offset = 0;
    Bytes data;
    bool truncated = false;
    bool end = false;
    MSGPACK_DEFINE_MAP(version, unitId, replica, stream, offset, data, truncated, end)
};

/// A circuit's id, chosen by the relay.
using CircuitId = std::array<std::uint8_t, 16>;

/// First message of a reservation connection, and then its keep-alive: the
/// sender asks to be reachable through the relay for as long as the
/// connection lasts.
struct RelayReserve {
    static constexpr MsgType kType = MsgType::kRelayReserve;
    std::uint32_t version = 1;
    MSGPACK_DEFINE_MAP(version)
};

/// The relay's answer to each relay-reserve.
struct RelayReserved {
    static constexpr MsgType kType = MsgType::kRelayReserved;
    std::uint32_t version = 1;
    std::int64_t ttlMs = 0; ///< the reservation lapses unless renewed within this
    std::string observed;   ///< the reserver's address as the relay sees it, "ip:port"
    MSGPACK_DEFINE_MAP(version, ttlMs, observed)
};

/// First message of a circuit's dialing side: open a circuit to `target`.
struct RelayConnect {
    static constexpr MsgType kType = MsgType::kRelayConnect;
    std::uint32_t version = 1;
    std::string target; ///< peer id of the reserved peer wanted
    MSGPACK_DEFINE_MAP(version, target)
};

/// Relay to a reserved peer, on its reservation connection: `from` asks for
/// a circuit; answer with a new connection whose first message is a
/// relay-accept naming `circuit`.
struct RelayIncoming {
    static constexpr MsgType kType = MsgType::kRelayIncoming;
    std::uint32_t version = 1;
    CircuitId circuit{};
    std::string from;         ///< peer id of the dialing side
    std::string fromObserved; ///< its address as the relay sees it
    MSGPACK_DEFINE_MAP(version, circuit, from, fromObserved)
};

/// First message of a circuit's reserved side.
struct RelayAccept {
    static constexpr MsgType kType = MsgType::kRelayAccept;
    std::uint32_t version = 1;
    CircuitId circuit{};
    MSGPACK_DEFINE_MAP(version, circuit)
};

/// Relay to both sides: the circuit is open; from now on only relay-data
/// (and, from the relay, an error that closes it) flows.
struct RelayOpened {
    static constexpr MsgType kType = MsgType::kRelayOpened;
    std::uint32_t version = 1;
    std::string peerObserved;       ///< the other side's address as the relay sees it
    std::int64_t maxBytes = 0;      ///< the circuit's byte limit, both directions (0: none)
    std::int64_t maxDurationMs = 0; ///< its lifetime limit (0: none)
    std::string observed;           ///< the receiver's own address as the relay sees it
    MSGPACK_DEFINE_MAP(version, peerObserved, maxBytes, maxDurationMs, observed)
};

/// Bytes of an open circuit, passed on as they are.
struct RelayData {
    static constexpr MsgType kType = MsgType::kRelayData;
    std::uint32_t version = 1;
    Bytes data;
    MSGPACK_DEFINE_MAP(version, data)
};

/// First message each side sends inside a circuit just opened, as the data
/// of one relay-data: whether it will try a hole punch (its NAT, if any,
/// kept the port of its connection to the relay, so the address the relay
/// saw is one the far side can punch to).
struct PunchPlan {
    static constexpr MsgType kType = MsgType::kPunchPlan;
    std::uint32_t version = 1;
    bool ready = false;
    MSGPACK_DEFINE_MAP(version, ready)
};

/// After a punch both sides were ready for, each side's outcome; the
/// session goes direct only when both connected.
struct PunchResult {
    static constexpr MsgType kType = MsgType::kPunchResult;
    std::uint32_t version = 1;
    bool connected = false;
    MSGPACK_DEFINE_MAP(version, connected)
};

/// Encodes `[type, body]` (no frame header).
template <typename T> Bytes encodeMessage(const T& msg) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(static_cast<std::uint16_t>(T::kType));
    pk.pack(msg);
    auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    return Bytes(p, p + buf.size());
}

/// A decoded frame payload: its type and the still-typed body.
struct RawMessage {
    MsgType type{};
    msgpack::object_handle handle; ///< owns the memory `body` points into
    msgpack::object body;
};

/// Parses `[type, body]` with the given limits. kUnknownType for a type we
/// do not know; kMalformed for anything else wrong. Never throws.
std::expected<RawMessage, Error> decodeMessage(ByteView payload, const UnpackLimits& limits = {});

/// The body as T, after checking the type tag and schema version, judged
/// (wire/judge.hpp): every field a peer sent is within its rule, texts are
/// cleaned. kMalformed for a body of the wrong shape, kUnknownType for
/// schema version 0, kRefused naming the field that broke its rule. This is
/// the one way a stream message is read. Never throws.
template <typename T> std::expected<T, Error> bodyAs(const RawMessage& raw) {
    if (raw.type != T::kType)
        return std::unexpected(Error(Error::Code::kMalformed, std::string("expected ") +
                                                                  msgTypeName(T::kType) + ", got " +
                                                                  msgTypeName(raw.type)));
    auto value = convertAs<T>(raw.body, msgTypeName(T::kType));
    if (value && value->version == 0)
        return std::unexpected(Error(Error::Code::kUnknownType, "schema version 0"));
    if (value) {
        if (auto ok = judge(*value); !ok)
            return std::unexpected(ok.error());
    }
    return value;
}

/// For an assign or a result that bodyAs() refused: its unitId and replica,
/// if the body has that shape and they themselves pass the judge, so that
/// the refusal can name the unit. nullopt otherwise. Never throws.
std::optional<UnitKey> unitKeyOf(const RawMessage& raw);

} // namespace swarm::wire

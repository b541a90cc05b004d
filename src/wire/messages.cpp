#include "wire/messages.hpp"

namespace swarm::wire {

namespace {
// The two fields assign and result share, read alone.
struct UnitKeyBody {
    std::string unitId;
    std::uint32_t replica = 0;
    MSGPACK_DEFINE_MAP(unitId, replica)
};
} // namespace

const char* msgTypeName(MsgType type) noexcept {
    switch (type) {
    case MsgType::kHello:
        return "hello";
    case MsgType::kRequestWork:
        return "request-work";
    case MsgType::kAssign:
        return "assign";
    case MsgType::kNeedBlobs:
        return "need-blobs";
    case MsgType::kBlobChunk:
        return "blob-chunk";
    case MsgType::kProgress:
        return "progress";
    case MsgType::kResult:
        return "result";
    case MsgType::kCancel:
        return "cancel";
    case MsgType::kBye:
        return "bye";
    case MsgType::kError:
        return "error";
    case MsgType::kNoWork:
        return "no-work";
    case MsgType::kWorkReady:
        return "work-ready";
    case MsgType::kRelayReserve:
        return "relay-reserve";
    case MsgType::kRelayReserved:
        return "relay-reserved";
    case MsgType::kRelayConnect:
        return "relay-connect";
    case MsgType::kRelayIncoming:
        return "relay-incoming";
    case MsgType::kRelayAccept:
        return "relay-accept";
    case MsgType::kRelayOpened:
        return "relay-opened";
    case MsgType::kRelayData:
        return "relay-data";
    case MsgType::kPunchPlan:
        return "punch-plan";
    case MsgType::kPunchResult:
        return "punch-result";
    case MsgType::kFollow:
        return "follow";
    case MsgType::kLogChunk:
        return "log-chunk";
    }
    return "unknown";
}

std::expected<RawMessage, Error> decodeMessage(ByteView payload, const UnpackLimits& limits) {
    auto handle = unpackBounded(payload, limits);
    if (!handle)
        return std::unexpected(handle.error());
    const msgpack::object& o = handle->get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2)
        return std::unexpected(Error(Error::Code::kMalformed, "message must be [type, body]"));
    const msgpack::object& t = o.via.array.ptr[0];
    if (t.type != msgpack::type::POSITIVE_INTEGER || t.via.u64 < 1 ||
        t.via.u64 > static_cast<std::uint64_t>(kLastMsgType))
        return std::unexpected(Error(Error::Code::kUnknownType, "unknown message type"));
    if (o.via.array.ptr[1].type != msgpack::type::MAP)
        return std::unexpected(Error(Error::Code::kMalformed, "message body must be a map"));
    RawMessage raw;
    raw.type = static_cast<MsgType>(t.via.u64);
    raw.body = o.via.array.ptr[1];
    raw.handle = std::move(*handle);
    return raw;
}

std::optional<UnitKey> unitKeyOf(const RawMessage& raw) {
    if (raw.type != MsgType::kAssign && raw.type != MsgType::kResult)
        return std::nullopt;
    auto key = convertAs<UnitKeyBody>(raw.body, "unit key");
    if (!key || !isSafeId(key->unitId) || key->replica >= limits::kReplicas)
        return std::nullopt;
    return UnitKey{std::move(key->unitId), key->replica};
}

} // namespace swarm::wire

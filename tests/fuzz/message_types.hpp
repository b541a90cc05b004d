#pragma once

// Shared by the per-message fuzz targets and the seed writer: the stream
// message types in wire order, and the one way both read a message.

#include "wire/codec.hpp"
#include "wire/messages.hpp"

#include <cstdio>
#include <cstdlib>
#include <expected>
#include <string>
#include <tuple>
#include <utility>

namespace swarm::fuzz {

/// The stream messages, element N-1 being MsgType N.
using MessageTypes =
    std::tuple<wire::Hello, wire::RequestWork, wire::Assign, wire::NeedBlobs, wire::BlobChunk,
               wire::Progress, wire::Result, wire::Cancel, wire::Bye, wire::ErrorMsg, wire::NoWork,
               wire::WorkReady, wire::RelayReserve, wire::RelayReserved, wire::RelayConnect,
               wire::RelayIncoming, wire::RelayAccept, wire::RelayOpened, wire::RelayData,
               wire::PunchPlan, wire::PunchResult, wire::Follow, wire::LogChunk>;

inline constexpr int kMessageTypes = std::tuple_size_v<MessageTypes>;

/// The message type whose MsgType number is N (1-based).
template <int N> using MessageAt = std::tuple_element_t<N - 1, MessageTypes>;

static_assert([]<std::size_t... I>(std::index_sequence<I...>) {
    return ((static_cast<std::size_t>(std::tuple_element_t<I, MessageTypes>::kType) == I + 1) &&
            ...);
}(std::make_index_sequence<kMessageTypes>{}));

/// The name of a type's fuzz target suffix and seed directory: its wire
/// name with '-' as '_' ("request-work" -> "request_work").
inline std::string targetName(wire::MsgType type) {
    std::string name = wire::msgTypeName(type);
    for (auto& c : name)
        if (c == '-')
            c = '_';
    return name;
}

/// Prints `what` and aborts: a broken property the fuzzer must report
/// whatever NDEBUG says.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
}

/// `[type, body]` the way encodeMessage() frames a body: a two-element
/// array header and the type as a positive fixint (all types are < 128).
inline wire::Bytes wrapBody(wire::MsgType type, wire::ByteView body) {
    wire::Bytes payload{0x92, static_cast<std::uint8_t>(type)};
    payload.insert(payload.end(), body.begin(), body.end());
    return payload;
}

/// Decodes `payload` as a stream message with the session's default limits
/// and reads it as T with bodyAs() (which judges it). An accepted message
/// must round-trip: re-encoded, decoded and judged again it is accepted,
/// and encodes to the same bytes (the judge's cleaning is idempotent).
/// Aborts when it does not; otherwise returns what bodyAs() said.
template <typename T> std::expected<T, wire::Error> judgeRoundTrip(wire::ByteView payload) {
    auto raw = wire::decodeMessage(payload);
    if (!raw)
        return std::unexpected(raw.error());
    auto key = wire::unitKeyOf(*raw);
    auto msg = wire::bodyAs<T>(*raw);
    if (!msg)
        return msg;

    if constexpr (requires { msg->unitId; }) {
        if (T::kType == wire::MsgType::kAssign || T::kType == wire::MsgType::kResult) {
            if (!key || key->unitId != msg->unitId || key->replica != msg->replica)
                fail("unitKeyOf() disagrees with an accepted message's unitId/replica");
        }
    }

    const wire::Bytes again = wire::encodeMessage(*msg);
    auto raw2 = wire::decodeMessage(again);
    if (!raw2)
        fail("an accepted message, re-encoded, no longer decodes");
    auto msg2 = wire::bodyAs<T>(*raw2);
    if (!msg2) {
        std::fprintf(stderr, "refused the second time: %s\n", msg2.error().what.c_str());
        fail("an accepted message, re-encoded, is refused");
    }
    if (wire::encodeMessage(*msg2) != again)
        fail("an accepted message changes when judged a second time");
    return msg;
}

} // namespace swarm::fuzz

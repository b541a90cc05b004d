#pragma once

#include "wire/bytes.hpp"
#include "wire/error.hpp"

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>

namespace swarm::wire {

/// Explicit msgpack unpack limits: msgpack-cxx's defaults accept multi-GiB
/// allocations from a 5-byte header. Every unpack of outside bytes uses one.
struct UnpackLimits {
    std::size_t array = 4096;
    std::size_t map = 256;
    std::size_t str = 64 * 1024;
    std::size_t bin = 1024 * 1024;
    std::size_t ext = 0;
    std::size_t depth = 16;
};

/// Unpacks exactly one msgpack object that spans all of `data`. Errors:
/// kTruncated, kTooLarge (a limit hit), kMalformed (bad bytes or trailing
/// data). Never throws.
std::expected<msgpack::object_handle, Error> unpackBounded(ByteView data,
                                                           const UnpackLimits& limits = {});

/// Converts a msgpack object to T; kMalformed naming `what` on a type
/// mismatch. Never throws.
template <typename T>
std::expected<T, Error> convertAs(const msgpack::object& obj, const char* what) {
    try {
        T value;
        obj.convert(value);
        return value;
    } catch (const std::exception& e) {
        return std::unexpected(
            Error(Error::Code::kMalformed, std::string(what) + ": wrong shape (" + e.what() + ")"));
    }
}

/// msgpack of `value` as bytes.
template <typename T> Bytes pack(const T& value) {
    msgpack::sbuffer buf;
    msgpack::pack(buf, value);
    auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    return Bytes(p, p + buf.size());
}

/// Frames are `[u32 big-endian length][payload]`.
inline constexpr std::size_t kFrameHeader = 4;
/// The default hard cap on one frame's payload (blob chunks are 256 KiB).
inline constexpr std::size_t kDefaultMaxFrame = 1024 * 1024;

/// Prepends the length header. Asserts payload.size() <= maxFrame.
Bytes encodeFrame(ByteView payload, std::size_t maxFrame = kDefaultMaxFrame);

/// Incremental frame parser for a byte stream. Holds at most one frame's cap
/// plus its header: a length over the cap is an error before anything is
/// allocated. Not thread-safe.
class FrameReader {
public:
    explicit FrameReader(std::size_t maxFrame = kDefaultMaxFrame) : maxFrame_(maxFrame) {}

    /// Appends received bytes. Returns kTooLarge once a header announces a
    /// frame over the cap; the reader is then poisoned (every later call
    /// fails the same way).
    std::expected<void, Error> push(ByteView data);
    /// The next complete frame's payload, if one is buffered.
    std::optional<Bytes> next();
    /// How many more bytes the current frame needs (header first). Lets a
    /// blocking reader ask the transport for exactly that much.
    std::size_t wanted() const noexcept;
    /// True if a partial frame is buffered (a peer that closes now has
    /// truncated it).
    bool midFrame() const noexcept { return !buf_.empty(); }

private:
    std::size_t maxFrame_;
    Bytes buf_;
    std::optional<Error> poisoned_;
};

} // namespace swarm::wire

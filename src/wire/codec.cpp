#include "wire/codec.hpp"

#include <cassert>
#include <cstring>

namespace swarm::wire {

std::expected<msgpack::object_handle, Error> unpackBounded(ByteView data,
                                                           const UnpackLimits& limits) {
    if (data.empty())
        return std::unexpected(Error(Error::Code::kTruncated, "empty message"));
    msgpack::unpack_limit limit(limits.array, limits.map, limits.str, limits.bin, limits.ext,
                                limits.depth);
    std::size_t offset = 0;
    try {
        auto handle = msgpack::unpack(reinterpret_cast<const char*>(data.data()), data.size(),
                                      offset, nullptr, nullptr, limit);
        if (offset != data.size())
            return std::unexpected(
                Error(Error::Code::kMalformed,
                      std::to_string(data.size() - offset) + " trailing bytes after the message"));
        return handle;
    } catch (const msgpack::insufficient_bytes&) {
        return std::unexpected(Error(Error::Code::kTruncated, "message is truncated"));
    } catch (const msgpack::depth_size_overflow&) {
        return std::unexpected(Error(Error::Code::kTooLarge, "message is nested too deeply"));
    } catch (const msgpack::size_overflow& e) {
        return std::unexpected(
            Error(Error::Code::kTooLarge, std::string("message is over a limit: ") + e.what()));
    } catch (const std::exception& e) {
        return std::unexpected(
            Error(Error::Code::kMalformed, std::string("message does not parse: ") + e.what()));
    }
}

Bytes encodeFrame(ByteView payload, std::size_t maxFrame) {
    assert(payload.size() <= maxFrame);
    (void)maxFrame;
    Bytes out(kFrameHeader + payload.size());
    auto n = static_cast<std::uint32_t>(payload.size());
    out[0] = static_cast<std::uint8_t>(n >> 24);
    out[1] = static_cast<std::uint8_t>(n >> 16);
    out[2] = static_cast<std::uint8_t>(n >> 8);
    out[3] = static_cast<std::uint8_t>(n);
    if (!payload.empty())
        std::memcpy(out.data() + kFrameHeader, payload.data(), payload.size());
    return out;
}

namespace {
std::size_t frameLength(const Bytes& buf) {
    return (std::size_t{buf[0]} << 24) | (std::size_t{buf[1]} << 16) | (std::size_t{buf[2]} << 8) |
           std::size_t{buf[3]};
}
} // namespace

std::expected<void, Error> FrameReader::push(ByteView data) {
    if (poisoned_)
        return std::unexpected(*poisoned_);
    buf_.insert(buf_.end(), data.begin(), data.end());
    // Check every complete header in the buffer now, so that an oversized
    // announcement fails before its body is ever buffered.
    std::size_t pos = 0;
    while (pos + kFrameHeader <= buf_.size()) {
        std::size_t len = (std::size_t{buf_[pos]} << 24) | (std::size_t{buf_[pos + 1]} << 16) |
                          (std::size_t{buf_[pos + 2]} << 8) | std::size_t{buf_[pos + 3]};
        if (len > maxFrame_) {
            poisoned_ = Error(Error::Code::kTooLarge, "frame of " + std::to_string(len) +
                                                          " bytes is over the limit of " +
                                                          std::to_string(maxFrame_));
            buf_.clear();
            buf_.shrink_to_fit();
            return std::unexpected(*poisoned_);
        }
        pos += kFrameHeader + len;
    }
    return {};
}

std::optional<Bytes> FrameReader::next() {
    if (poisoned_ || buf_.size() < kFrameHeader)
        return std::nullopt;
    std::size_t len = frameLength(buf_);
    if (buf_.size() < kFrameHeader + len)
        return std::nullopt;
    Bytes frame(buf_.begin() + kFrameHeader, buf_.begin() + static_cast<long>(kFrameHeader + len));
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(kFrameHeader + len));
    return frame;
}

std::size_t FrameReader::wanted() const noexcept {
    if (buf_.size() < kFrameHeader)
        return kFrameHeader - buf_.size();
    std::size_t total = kFrameHeader + frameLength(buf_);
    return buf_.size() < total ? total - buf_.size() : 0;
}

} // namespace swarm::wire

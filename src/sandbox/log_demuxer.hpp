#pragma once

#include "sandbox/log_tap.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// Splits Docker's multiplexed log stream (what Podman's logs endpoint
/// returns: 8-byte headers [stream, 0, 0, 0, big-endian u32 length]) into
/// stdout and stderr, keeping at most `cap` bytes in total. Fed in arbitrary
/// chunks. Not thread-safe.
class LogDemuxer {
public:
    /// `tap`, if any, is borrowed and sees each kept byte as it is fed.
    explicit LogDemuxer(std::uint64_t cap, LogTap* tap = nullptr) : cap_(cap), tap_(tap) {}

    /// Consumes a chunk; bytes past the cap are counted and dropped. Returns
    /// false once the stream is malformed.
    bool feed(std::string_view chunk);

    const std::string& out() const noexcept { return out_; }
    const std::string& err() const noexcept { return err_; }
    /// More bytes arrived (or were announced) than the cap allowed.
    bool truncated() const noexcept { return truncated_; }
    /// Bytes of stdout (stderr) were dropped at the cap.
    bool outTruncated() const noexcept { return outTruncated_; }
    bool errTruncated() const noexcept { return errTruncated_; }
    /// Payload bytes seen, kept or not.
    std::uint64_t total() const noexcept { return total_; }
    /// A header was not of the documented form.
    bool malformed() const noexcept { return malformed_; }

private:
    std::uint64_t cap_;
    LogTap* tap_;
    std::string out_, err_;
    std::string header_;
    std::uint32_t remaining_ = 0;
    std::uint64_t total_ = 0;
    int stream_ = 0;
    bool truncated_ = false;
    bool outTruncated_ = false;
    bool errTruncated_ = false;
    bool malformed_ = false;
};

} // namespace swarm::sandbox

#pragma once

#include "sandbox/log_tap.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace swarm::worker {

/// The live stdout and stderr of one running replica, between the sandbox
/// (which writes, on its attach thread) and the session's pump (which reads
/// and sends log-chunks while a submitter follows). Writing never blocks
/// and memory is bounded: each stream keeps only its newest kWindow bytes;
/// bytes a slow follower (or one that came late) missed are dropped and
/// show as a gap in the offsets. Thread-safe.
class LiveLog : public sandbox::LogTap {
public:
    static constexpr std::size_t kWindow = 64 * 1024; ///< per stream
    static constexpr std::size_t kPiece = 16 * 1024;  ///< data in one log-chunk at most

    /// What the pump sends next.
    struct Piece {
        enum class Kind { kNothing, kStop, kData };
        Kind kind = Kind::kNothing;
        Stream stream = Stream::kStdout;
        std::uint64_t offset = 0; ///< of data's first byte in its stream
        std::string data;
        bool truncated = false; ///< the log cap dropped this stream's later bytes
        bool end = false;       ///< the last piece: the replica ended
    };

    void write(Stream stream, std::string_view bytes) override;
    void truncated(Stream stream) override;

    /// The replica ended: once the rest is sent, the pump sends `end`.
    void finish();
    /// A submitter asks to follow: sending starts again from the oldest byte
    /// kept. True when no pump runs: the caller must start one.
    bool follow();
    /// The submitter stopped following: the pump stops.
    void unfollow();
    /// For the pump: waits up to `timeout` for the next piece. kStop (and
    /// after a piece with `end`) the pump must exit; it no longer counts as
    /// running.
    Piece next(std::chrono::milliseconds timeout);
    /// The pump gave up (its session ended).
    void pumpGone();
    /// Waits up to `timeout` until no pump runs; true if none does.
    bool drained(std::chrono::milliseconds timeout);

private:
    struct Buffer {
        std::string bytes;
        std::uint64_t start = 0; ///< stream offset of bytes[0]
        std::uint64_t sent = 0;  ///< stream offset of the next byte to send
        bool truncated = false;
        bool truncationSent = false;
    };
    Buffer& of(Stream s) { return s == Stream::kStderr ? err_ : out_; }
    bool pending() const;
    Piece take(Stream stream, Buffer& b);

    mutable std::mutex m_;
    std::condition_variable cv_;
    Buffer out_, err_;
    bool following_ = false;
    bool pumping_ = false;
    bool finished_ = false;
};

} // namespace swarm::worker

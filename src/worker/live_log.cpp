#include "worker/live_log.hpp"

#include <algorithm>

namespace swarm::worker {

void LiveLog::write(Stream stream, std::string_view bytes) {
    {
        std::lock_guard lock(m_);
        auto& b = of(stream);
        // Only the newest window is kept: a unit writing faster than its
        // follower reads costs the follower bytes, never the unit time.
        if (bytes.size() >= kWindow) {
            b.start += b.bytes.size() + bytes.size() - kWindow;
            b.bytes.assign(bytes.substr(bytes.size() - kWindow));
        } else {
            b.bytes.append(bytes);
            if (b.bytes.size() > kWindow) {
                const auto drop = b.bytes.size() - kWindow;
                b.bytes.erase(0, drop);
                b.start += drop;
            }
        }
    }
    cv_.notify_all();
}

void LiveLog::truncated(Stream stream) {
    {
        std::lock_guard lock(m_);
        of(stream).truncated = true;
    }
    cv_.notify_all();
}

void LiveLog::finish() {
    {
        std::lock_guard lock(m_);
        finished_ = true;
    }
    cv_.notify_all();
}

bool LiveLog::follow() {
    std::lock_guard lock(m_);
    following_ = true;
    for (auto* b : {&out_, &err_}) {
        b->sent = b->start;
        b->truncationSent = false;
    }
    const bool start = !pumping_;
    pumping_ = true;
    return start;
}

void LiveLog::unfollow() {
    {
        std::lock_guard lock(m_);
        following_ = false;
    }
    cv_.notify_all();
}

bool LiveLog::pending() const {
    for (const auto* b : {&out_, &err_})
        if (std::max(b->sent, b->start) < b->start + b->bytes.size() ||
            (b->truncated && !b->truncationSent))
            return true;
    return false;
}

LiveLog::Piece LiveLog::take(Stream stream, Buffer& b) {
    Piece p{.kind = Piece::Kind::kData, .stream = stream};
    p.offset = std::max(b.sent, b.start);
    const auto end = b.start + b.bytes.size();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(end - p.offset, kPiece));
    p.data = b.bytes.substr(static_cast<std::size_t>(p.offset - b.start), n);
    b.sent = p.offset + n;
    // The cap's mark goes with the stream's last bytes.
    if (b.truncated && b.sent == end) {
        p.truncated = true;
        b.truncationSent = true;
    }
    return p;
}

LiveLog::Piece LiveLog::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [this] { return !following_ || finished_ || pending(); });
    if (!following_) {
        pumping_ = false;
        cv_.notify_all();
        return {.kind = Piece::Kind::kStop};
    }
    for (auto stream : {Stream::kStdout, Stream::kStderr}) {
        auto& b = of(stream);
        if (std::max(b.sent, b.start) < b.start + b.bytes.size() ||
            (b.truncated && !b.truncationSent))
            return take(stream, b);
    }
    if (!finished_)
        return {};
    pumping_ = false;
    following_ = false;
    cv_.notify_all();
    return {.kind = Piece::Kind::kData, .offset = out_.sent, .end = true};
}

void LiveLog::pumpGone() {
    {
        std::lock_guard lock(m_);
        pumping_ = false;
        following_ = false;
    }
    cv_.notify_all();
}

bool LiveLog::drained(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [this] { return !pumping_; });
}

} // namespace swarm::worker

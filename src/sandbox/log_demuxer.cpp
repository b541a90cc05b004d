#include "sandbox/log_demuxer.hpp"

#include <algorithm>

namespace swarm::sandbox {

bool LogDemuxer::feed(std::string_view chunk) {
    while (!chunk.empty() && !malformed_) {
        if (remaining_ == 0) {
            auto take = std::min<std::size_t>(8 - header_.size(), chunk.size());
            header_.append(chunk.substr(0, take));
            chunk.remove_prefix(take);
            if (header_.size() < 8)
                return true;
            auto b = [&](int i) { return static_cast<std::uint8_t>(header_[i]); };
            stream_ = b(0);
            if (stream_ > 2 || b(1) || b(2) || b(3)) {
                malformed_ = true;
                break;
            }
            remaining_ = (std::uint32_t(b(4)) << 24) | (std::uint32_t(b(5)) << 16) |
                         (std::uint32_t(b(6)) << 8) | std::uint32_t(b(7));
            header_.clear();
            continue;
        }
        auto take = std::min<std::size_t>(remaining_, chunk.size());
        total_ += take;
        std::uint64_t used = out_.size() + err_.size();
        std::uint64_t room = cap_ > used ? cap_ - used : 0;
        auto keep = static_cast<std::size_t>(std::min<std::uint64_t>(take, room));
        (stream_ == 2 ? err_ : out_).append(chunk.substr(0, keep));
        const auto which = stream_ == 2 ? LogTap::Stream::kStderr : LogTap::Stream::kStdout;
        if (tap_ && keep > 0)
            tap_->write(which, chunk.substr(0, keep));
        if (keep < take) {
            truncated_ = true;
            bool& flag = stream_ == 2 ? errTruncated_ : outTruncated_;
            if (tap_ && !flag)
                tap_->truncated(which);
            flag = true;
        }
        remaining_ -= static_cast<std::uint32_t>(take);
        chunk.remove_prefix(take);
    }
    return !malformed_;
}

} // namespace swarm::sandbox

#include "submitter/reporter.hpp"

namespace swarm::submitter {

namespace {
constexpr std::int64_t kProgressEventEveryMs = 2000;
constexpr std::size_t kLineWidth = 100;
} // namespace

void Reporter::emit(const std::string& line) {
    if (!json_)
        return;
    std::lock_guard lock(mutex_);
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}

void Reporter::progress(const ProgressState& p) {
    if (progressLine_) {
        auto line = progressLine(p, kLineWidth);
        std::lock_guard lock(mutex_);
        if (line != lastLine_) {
            std::fprintf(err_, "\r%s\033[K", line.c_str());
            lastLine_ = std::move(line);
        }
    }
    bool due = false;
    {
        std::lock_guard lock(mutex_);
        due = json_ && p.nowMs - lastEventMs_ >= kProgressEventEveryMs;
        if (due)
            lastEventMs_ = p.nowMs;
    }
    if (due)
        emit(event::progress(p));
}

void Reporter::finish(const ProgressState& p) {
    if (!progressLine_)
        return;
    std::lock_guard lock(mutex_);
    std::fprintf(err_, "\r%s\033[K\n", progressLine(p, kLineWidth).c_str());
}

} // namespace swarm::submitter

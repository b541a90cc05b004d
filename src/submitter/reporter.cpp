#include "submitter/reporter.hpp"

namespace swarm::submitter {

namespace {
constexpr std::int64_t kProgressEventEveryMs = 2000;
constexpr std::size_t kLineWidth = 100;

bool sameCounts(const ProgressState& a, const ProgressState& b) {
    return a.total == b.total && a.valid == b.valid && a.failed == b.failed &&
           a.running == b.running && a.workers == b.workers;
}
} // namespace

void Reporter::emit(const std::string& line) {
    if (!json_)
        return;
    std::lock_guard lock(mutex_);
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}

void Reporter::warn(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (progress_ == ProgressOutput::kTerminal) {
        std::fputs("\r\033[K", err_);
        lastLine_.clear();
    }
    std::fprintf(err_, "warning: %s\n", text.c_str());
    std::fflush(err_);
}

void Reporter::printPlain(const ProgressState& p) {
    std::fprintf(err_, "%s\n", plainProgressLine(p).c_str());
    std::fflush(err_);
    lastPlain_ = p;
}

void Reporter::progress(const ProgressState& p) {
    if (progress_ == ProgressOutput::kTerminal) {
        auto line = progressLine(p, kLineWidth);
        std::lock_guard lock(mutex_);
        if (line != lastLine_) {
            std::fprintf(err_, "\r%s\033[K", line.c_str());
            lastLine_ = std::move(line);
        }
    } else if (progress_ == ProgressOutput::kPlain) {
        std::lock_guard lock(mutex_);
        if (pacer_.due(p))
            printPlain(p);
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
    std::lock_guard lock(mutex_);
    if (progress_ == ProgressOutput::kTerminal)
        std::fprintf(err_, "\r%s\033[K\n", progressLine(p, kLineWidth).c_str());
    else if (progress_ == ProgressOutput::kPlain && !(lastPlain_ && sameCounts(*lastPlain_, p)))
        printPlain(p);
}

} // namespace swarm::submitter

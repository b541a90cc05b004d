#include "submitter/log_follows.hpp"

#include <algorithm>

namespace swarm::submitter {

namespace {
// Follows owed to one worker at most: each is a follower's, and the
// control socket serves a few at a time.
constexpr std::size_t kMaxOwed = 256;
} // namespace

std::vector<LogFollows::Event> LogFollows::Follower::wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); });
    std::vector<Event> out;
    out.swap(queue_);
    queued_ = 0;
    return out;
}

// Keeps offsets moving forward: bytes already passed on are cut, a gap is
// counted as skipped; bytes past the queue's bound become a gap too.
void LogFollows::Follower::push(Event e) {
    {
        std::lock_guard lock(m_);
        if (ended_)
            return;
        if (e.end) {
            ended_ = true;
        } else {
            auto& next = next_[e.stream];
            const auto end = e.offset + e.data.size();
            if (end < next || (end == next && !e.truncated && !e.data.empty()))
                return; // a repeat of what was passed on
            if (e.offset < next) {
                e.data.erase(0, static_cast<std::size_t>(next - e.offset));
                e.offset = next;
            }
            if (queued_ + e.data.size() > kQueueBytes)
                return; // the next chunk that fits reports it as skipped
            e.skipped = e.offset - next;
            next = e.offset + e.data.size();
            queued_ += e.data.size();
        }
        queue_.push_back(std::move(e));
    }
    cv_.notify_all();
}

void LogFollows::workerConnected(const WorkerId& wid, bool canFollow) {
    std::lock_guard lock(m_);
    if (canFollow)
        canFollow_.insert(wid);
    else
        canFollow_.erase(wid);
}

void LogFollows::endAll(std::vector<std::shared_ptr<Follower>>& followers) {
    for (auto& f : followers)
        f->push(Event{.end = true});
}

void LogFollows::workerLeft(const WorkerId& wid) {
    std::lock_guard lock(m_);
    canFollow_.erase(wid);
    owed_.erase(wid);
    for (auto it = follows_.begin(); it != follows_.end();) {
        if (std::get<0>(it->first) == wid) {
            endAll(it->second);
            it = follows_.erase(it);
        } else {
            ++it;
        }
    }
}

bool LogFollows::canFollow(const WorkerId& wid) const {
    std::lock_guard lock(m_);
    return canFollow_.contains(wid);
}

std::shared_ptr<LogFollows::Follower>
LogFollows::follow(const WorkerId& wid, const std::string& unitId, std::uint32_t replica) {
    std::lock_guard lock(m_);
    auto& owed = owed_[wid];
    if (!canFollow_.contains(wid) || owed.size() >= kMaxOwed)
        return nullptr;
    auto f = std::make_shared<Follower>();
    follows_[{wid, unitId, replica}].push_back(f);
    owed.push_back(wire::Follow{.unitId = unitId, .replica = replica, .on = true});
    return f;
}

void LogFollows::stop(const std::shared_ptr<Follower>& follower) {
    std::lock_guard lock(m_);
    for (auto it = follows_.begin(); it != follows_.end(); ++it) {
        auto& list = it->second;
        auto found = std::find(list.begin(), list.end(), follower);
        if (found == list.end())
            continue;
        list.erase(found);
        if (list.empty()) {
            const auto& [wid, unitId, replica] = it->first;
            if (canFollow_.contains(wid) && owed_[wid].size() < kMaxOwed)
                owed_[wid].push_back(
                    wire::Follow{.unitId = unitId, .replica = replica, .on = false});
            follows_.erase(it);
        }
        return;
    }
}

std::vector<wire::Follow> LogFollows::owed(const WorkerId& wid) {
    std::lock_guard lock(m_);
    auto it = owed_.find(wid);
    if (it == owed_.end())
        return {};
    auto out = std::move(it->second);
    owed_.erase(it);
    return out;
}

bool LogFollows::deliver(const WorkerId& wid, const wire::LogChunk& chunk) {
    std::lock_guard lock(m_);
    auto it = follows_.find({wid, chunk.unitId, chunk.replica});
    if (it == follows_.end())
        return false;
    for (auto& f : it->second)
        f->push(Event{.stream = chunk.stream,
                      .offset = chunk.offset,
                      .data = std::string(chunk.data.begin(), chunk.data.end()),
                      .truncated = chunk.truncated,
                      .end = chunk.end});
    // After its end the worker sends nothing more for the replica: no off.
    if (chunk.end)
        follows_.erase(it);
    return true;
}

} // namespace swarm::submitter

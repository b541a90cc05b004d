#include "worker/link_set.hpp"

#include "net/blob_store.hpp"

namespace swarm::worker {

LinkSet::~LinkSet() {
    std::map<SessionId, std::shared_ptr<SubmitterLink>> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(links_);
    }
    for (auto& [id, link] : left)
        link->close(std::nullopt);
    // Joined here, on this thread: the last reference to a link must not
    // drop on one of its own unit threads.
    for (auto& [id, link] : left)
        link->join();
    reap();
}

std::shared_ptr<SubmitterLink> LinkSet::find(SessionId id) const {
    std::lock_guard lock(mutex_);
    auto it = links_.find(id);
    return it == links_.end() ? nullptr : it->second;
}

void LinkSet::dial(SessionId id, const dht::ReceivedOffer& offer) {
    auto link = std::make_shared<SubmitterLink>(ctx_, id, offer);
    {
        std::lock_guard lock(mutex_);
        links_[id] = link;
    }
    link->start();
}

void LinkSet::send(SessionId id, wire::Bytes payload) {
    if (auto link = find(id))
        link->send(std::move(payload));
}

bool LinkSet::ready(SessionId id) const {
    auto link = find(id);
    return link && link->ready();
}

void LinkSet::run(SessionId id, wire::Assign assign, sandbox::Limits limits,
                  std::vector<wire::Digest> pinned, std::stop_token stop,
                  std::stop_token giveBack) {
    if (auto link = find(id))
        link->run(std::move(assign), limits, std::move(pinned), stop, giveBack);
}

void LinkSet::deliverHeld(SessionId id) {
    if (auto link = find(id))
        link->deliverHeld();
}

void LinkSet::unpin(std::vector<wire::Digest> pinned) {
    for (const auto& d : pinned)
        ctx_.store.unpin(d);
}

void LinkSet::close(SessionId id, std::optional<wire::Bye> last) {
    if (auto link = find(id))
        link->close(std::move(last));
}

void LinkSet::forget(SessionId id) {
    std::lock_guard lock(mutex_);
    auto it = links_.find(id);
    if (it == links_.end())
        return;
    forgotten_.push_back(std::move(it->second));
    links_.erase(it);
}

void LinkSet::reap() {
    std::vector<std::shared_ptr<SubmitterLink>> dead;
    {
        std::lock_guard lock(mutex_);
        dead.swap(forgotten_);
    }
    for (auto& link : dead)
        link->join();
}

} // namespace swarm::worker

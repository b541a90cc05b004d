#pragma once

#include "worker/session_table.hpp"
#include "worker/submitter_link.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace swarm::worker {

/// The live connections to submitters, as the SessionTable sees them: it
/// makes a SubmitterLink per dialed offer and hands each call to its link.
/// A forgotten link is kept until reap() joins its threads, on a thread
/// that may wait (never the table's loop).
class LinkSet final : public SessionPort {
public:
    explicit LinkSet(LinkContext& ctx) : ctx_(ctx) {}
    ~LinkSet() override;

    void dial(SessionId id, const dht::ReceivedOffer& offer) override;
    void send(SessionId id, wire::Bytes payload) override;
    bool ready(SessionId id) const override;
    void run(SessionId id, wire::Assign assign, sandbox::Limits limits,
             std::vector<wire::Digest> pinned, std::stop_token stop,
             std::stop_token giveBack) override;
    void deliverHeld(SessionId id) override;
    void unpin(std::vector<wire::Digest> pinned) override;
    void close(SessionId id, std::optional<wire::Bye> last) override;
    void forget(SessionId id) override;

    /// Joins the links forgotten so far. Thread-safe; not on the loop.
    void reap();

private:
    std::shared_ptr<SubmitterLink> find(SessionId id) const;

    LinkContext& ctx_;
    mutable std::mutex mutex_;
    std::map<SessionId, std::shared_ptr<SubmitterLink>> links_;
    std::vector<std::shared_ptr<SubmitterLink>> forgotten_;
};

} // namespace swarm::worker

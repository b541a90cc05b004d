#include "submitter/relay_pool.hpp"

#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <algorithm>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");
// A reservation not granted for this long is let go for another candidate.
constexpr std::chrono::seconds kGrace{20};
constexpr std::chrono::seconds kBackOff{120};
} // namespace

RelayPool::RelayPool(const net::Credentials& credentials, const wire::TrustList& trust,
                     net::Listener& listener, std::size_t want)
    : creds_(credentials), trust_(trust), listener_(listener), want_(want) {}

// Reservations let go are stopped without waiting (a dead relay's connect
// may take seconds); they are destroyed once over. A relay let go is not
// tried again for kBackOff, so the next candidate gets its turn.
void RelayPool::update(const std::vector<net::Endpoint>& candidates) {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(retired_, [](const auto& r) { return r->finished(); });
    std::erase_if(letGo_, [&](const auto& e) { return now - e.second > kBackOff; });
    std::vector<std::string> wanted;
    for (const auto& c : candidates) {
        auto id = wire::PeerId::parse(c.relay);
        const auto text = c.str();
        if (id && trust_.contains(*id) &&
            std::find(wanted.begin(), wanted.end(), text) == wanted.end())
            wanted.push_back(text);
    }
    std::size_t good = 0;
    for (auto it = held_.begin(); it != held_.end();) {
        auto& h = it->second;
        if (h.reservation->active())
            h.lastActive = now;
        const bool stale = now - std::max(h.since, h.lastActive) > kGrace;
        const bool gone = std::find(wanted.begin(), wanted.end(), it->first) == wanted.end();
        if (gone || (stale && wanted.size() > held_.size())) {
            kLog.info("letting relay {} go: {}", it->first, h.reservation->state());
            h.reservation->requestStop();
            retired_.push_back(std::move(h.reservation));
            if (!gone)
                letGo_[it->first] = now;
            it = held_.erase(it);
            continue;
        }
        good += h.reservation->active() || now - h.since <= kGrace;
        ++it;
    }
    for (const auto& text : wanted) {
        if (good >= want_)
            break;
        if (held_.contains(text) || letGo_.contains(text))
            continue;
        auto endpoint = net::Endpoint::parse(text);
        auto reservation = std::make_unique<net::RelayReservation>(
            creds_, *endpoint, net::allowList(trust_), net::allowList(trust_),
            [this](base::UniqueFd socket, std::string label, std::shared_ptr<void> keep) {
                listener_.adopt(std::move(socket), std::move(label), std::move(keep));
            });
        held_.emplace(text, Held{std::move(reservation), now, now});
        ++good;
    }
}

std::vector<std::string> RelayPool::endpoints() const {
    std::vector<std::string> out;
    for (const auto& [text, h] : held_)
        if (h.reservation->active())
            out.push_back(text);
    return out;
}

std::vector<std::string> RelayPool::states() const {
    std::vector<std::string> out;
    for (const auto& [text, h] : held_)
        out.push_back(h.reservation->state());
    return out;
}

} // namespace swarm::submitter

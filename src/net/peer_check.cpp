#include "net/peer_check.hpp"

#include "wire/peer_id.hpp"

namespace swarm::net {

namespace {

Error notTrusted(const wire::PublicKey& key) {
    return Error(Error::Code::kUntrusted,
                 "peer " + wire::PeerId(key).shortStr() + " is not on the allow-list");
}

} // namespace

PeerCheck allowList(wire::TrustList trust) {
    auto list = std::make_shared<const wire::TrustList>(std::move(trust));
    return [list](const wire::PublicKey& key) -> std::expected<void, Error> {
        if (!list->contains(key))
            return std::unexpected(notTrusted(key));
        return {};
    };
}

PeerCheck allowListAndKey(wire::TrustList trust, const wire::PublicKey& named) {
    auto list = std::make_shared<const wire::TrustList>(std::move(trust));
    return [list, named](const wire::PublicKey& key) -> std::expected<void, Error> {
        if (!list->contains(key))
            return std::unexpected(notTrusted(key));
        if (key != named)
            return std::unexpected(
                Error(Error::Code::kUntrusted, "peer " + wire::PeerId(key).shortStr() +
                                                   " is not the peer the offer named (" +
                                                   wire::PeerId(named).shortStr() + ")"));
        return {};
    };
}

PeerCheck allowIf(std::function<bool(const wire::PublicKey&)> allowed) {
    return
        [allowed = std::move(allowed)](const wire::PublicKey& key) -> std::expected<void, Error> {
            if (!allowed(key))
                return std::unexpected(notTrusted(key));
            return {};
        };
}

} // namespace swarm::net

#include "net/dialer.hpp"

#include "wire/log.hpp"

namespace swarm::net {

std::expected<std::unique_ptr<Session>, Error> Dialer::connect(const Endpoint& endpoint,
                                                               PeerCheck check) const {
    Deadline deadline = SteadyClock::now() + limits_.handshake;
    auto fd = connectTcp(endpoint, deadline);
    if (!fd)
        return std::unexpected(fd.error());
    return Session::handshake(std::move(*fd), creds_, Role::kClient, std::move(check), limits_,
                              deadline);
}

std::expected<std::unique_ptr<Session>, Error>
Dialer::dial(const Endpoint& endpoint, PeerCheck check, const wire::Hello& hello) const {
    auto session = connect(endpoint, std::move(check));
    if (!session) {
        wire::Logger("net").info("dial {} failed: {}", endpoint.str(), describe(session.error()));
        return session;
    }
    if (auto sent = (*session)->send(hello); !sent)
        return std::unexpected(sent.error());
    return session;
}

} // namespace swarm::net

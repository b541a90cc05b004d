#pragma once

#include "net/credentials.hpp"
#include "net/error.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "net/socket.hpp"
#include "wire/messages.hpp"

#include <expected>
#include <memory>

namespace swarm::net {

/// The worker's side: dials out to a submitter. Holds no connections;
/// thread-safe (dial() may run on several threads at once).
class Dialer {
public:
    Dialer(const Credentials& credentials, SessionLimits limits = {})
        : creds_(credentials), limits_(limits) {}

    /// Connects to `endpoint`, runs the TLS handshake with `check` inside it
    /// (pass allowListAndKey(trust, offer's submitter key)), and sends
    /// `hello` as the first message. Connect + handshake + hello are bounded
    /// by limits.handshake. Blocks. The submitter may still reject the hello:
    /// that shows up as an ErrorMsg or kClosed on the first receive().
    std::expected<std::unique_ptr<Session>, Error> dial(const Endpoint& endpoint, PeerCheck check,
                                                        const wire::Hello& hello) const;

    /// Connect + handshake only, without a hello (for tests and tools).
    std::expected<std::unique_ptr<Session>, Error> connect(const Endpoint& endpoint,
                                                           PeerCheck check) const;

private:
    Credentials creds_;
    SessionLimits limits_;
};

} // namespace swarm::net

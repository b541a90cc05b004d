#pragma once

#include "net/credentials.hpp"
#include "net/error.hpp"
#include "net/peer_check.hpp"
#include "net/relay_client.hpp"
#include "net/session.hpp"
#include "net/socket.hpp"
#include "wire/messages.hpp"

#include <chrono>
#include <expected>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace swarm::net {

/// The worker's side: dials out to a submitter. Holds no connections;
/// thread-safe (dial() may run on several threads at once).
class Dialer {
public:
    /// With a `route`, relayed endpoints ("relay:<id>@host:port") are
    /// dialed as circuits to route.target through relays route.relays
    /// allows; without one (no route.relays) they fail (kUntrusted).
    Dialer(const Credentials& credentials, SessionLimits limits = {}, RelayRoute route = {})
        : creds_(credentials), limits_(limits), route_(std::move(route)) {}

    /// Connects to `endpoint` (directly, or over a relay circuit), runs the TLS handshake with
    /// `check` inside it (pass allowListAndKey(trust, offer's submitter key)), and sends `hello` as
    /// the first message. Connect + handshake + hello are bounded by limits.handshake. Blocks. The
    /// submitter may still reject the hello: that shows up as an ErrorMsg or kClosed on the first
    /// receive().
    std::expected<std::unique_ptr<Session>, Error> dial(const Endpoint& endpoint, PeerCheck check,
                                                        const wire::Hello& hello) const;

    /// Connect + handshake only, without a hello (for tests and tools).
    std::expected<std::unique_ptr<Session>, Error> connect(const Endpoint& endpoint,
                                                           PeerCheck check) const;

    /// What dialFirst() got: the session and the endpoint it came from, or
    /// every attempt's error.
    struct FirstSession {
        std::unique_ptr<Session> session;
        std::size_t index = 0;           ///< into the endpoints given
        std::vector<std::string> errors; ///< "endpoint: error", per failed attempt
        /// Attempts still running when one won (each bounded by the
        /// handshake limit); a session one of them makes is closed unused.
        /// Keep until they end.
        std::vector<std::future<void>> stragglers;
    };
    /// Dials `endpoints` staggered ("happy eyeballs"): the first at once,
    /// each next one `stagger` after the one before or as soon as all
    /// before it failed, several in flight at once; the first to connect
    /// and finish the handshake wins and alone sends `hello` (its token is
    /// good once). Blocks until a winner or until every attempt failed
    /// (session null).
    FirstSession
    dialFirst(const std::vector<Endpoint>& endpoints, const PeerCheck& check,
              const wire::Hello& hello,
              std::chrono::milliseconds stagger = std::chrono::milliseconds(250)) const;

private:
    Credentials creds_;
    SessionLimits limits_;
    RelayRoute route_;
};

} // namespace swarm::net

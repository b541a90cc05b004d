#pragma once

#include "net/credentials.hpp"
#include "net/error.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "wire/messages.hpp"

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace swarm::net {

struct ListenerConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0; ///< 0: pick a free port (see Listener::port())
    /// Sessions (handshaking or running) at once; a connection beyond this is
    /// closed right after accept(), before any TLS work.
    std::size_t maxConnections = 64;
    /// limits.handshake bounds accept -> handshake -> hello as a whole.
    SessionLimits limits{};
};

/// Counters for tests and status output. A snapshot; values only grow
/// except `active` and `bufferedBytes`.
struct ListenerStats {
    std::uint64_t accepted = 0;        ///< connections that got a session thread
    std::uint64_t refused = 0;         ///< closed at once: over maxConnections
    std::uint64_t handshakeFailed = 0; ///< TLS failed, timed out or peer untrusted
    std::uint64_t helloRejected = 0;   ///< no/malformed hello, or HelloCheck said no
    std::uint64_t handled = 0;         ///< sessions handed to the handler
    std::uint64_t active = 0;          ///< session threads alive now
    std::int64_t bufferedBytes = 0;    ///< partial-frame bytes buffered, all sessions
};

/// Accepts TLS sessions and runs each on its own thread, at most
/// `maxConnections` at once (a bounded thread per session: see
/// docs/streams.md). For each connection: handshake with `check` inside it;
/// then the first message must be a Hello that `helloCheck` accepts, all
/// within limits.handshake; only then does `handler` run. A failure at any
/// step is logged with its reason and the connection closed; the handler
/// never sees it.
class Listener {
public:
    /// Decides whether the hello (its one-time token) is acceptable from
    /// this peer. Called on the session thread; must be thread-safe and must
    /// not throw.
    using HelloCheck =
        std::function<std::expected<void, Error>(const wire::PublicKey&, const wire::Hello&)>;
    /// Serves one authenticated session; the session is closed when it
    /// returns. Called on the session thread, concurrently for different
    /// sessions. An escaping exception is logged and ends the session.
    using Handler = std::function<void(Session&, const wire::Hello&)>;
    /// Serves a session that has no hello stage (a relay's): called right
    /// after the handshake, with the same threading as Handler.
    using SessionHandler = std::function<void(Session&)>;

    /// Binds and starts accepting. Throws std::system_error if it cannot bind.
    Listener(const Credentials& credentials, ListenerConfig config, PeerCheck check,
             HelloCheck helloCheck, Handler handler);
    /// The same, without the hello stage.
    Listener(const Credentials& credentials, ListenerConfig config, PeerCheck check,
             SessionHandler handler);
    /// Stops (see stop()).
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    ListenerStats stats() const;
    /// Serves a connection that did not come through this listener's port
    /// (a relay circuit's local end) exactly like an accepted one: same
    /// limits, handshake, hello and handler. `address` names it in logs and
    /// as the session's peerAddress(); `companion` lives as long as the
    /// session. False (and the socket closed) when stopping or full.
    bool adopt(base::UniqueFd socket, std::string address, std::shared_ptr<void> companion = {});
    /// Stops accepting, aborts every session's I/O and joins all threads.
    /// Handlers see their session fail and must return promptly. Idempotent.
    void stop();

private:
    struct Connection;
    void start();
    void acceptLoop();
    bool startConnection(base::UniqueFd fd, std::string address, std::shared_ptr<void> companion);
    void serve(Connection& conn);
    void serveHello(Session& session, const std::string& address, Deadline deadline);
    static void runHandler(Session& session, const std::function<void(Session&)>& handler);
    void reap();

    Credentials creds_;
    ListenerConfig config_;
    PeerCheck check_;
    HelloCheck helloCheck_;
    Handler handler_;
    SessionHandler sessionHandler_;
    base::UniqueFd listenFd_;
    base::UniqueFd wakeRead_;
    base::UniqueFd wakeWrite_;
    std::uint16_t port_ = 0;

    mutable std::mutex mutex_;
    std::list<std::unique_ptr<Connection>> connections_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> accepted_{0}, refused_{0}, handshakeFailed_{0}, helloRejected_{0},
        handled_{0};
    std::atomic<std::int64_t> buffered_{0};
    std::thread acceptThread_;
};

} // namespace swarm::net

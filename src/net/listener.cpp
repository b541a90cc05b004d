#include "net/listener.hpp"

#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace swarm::net {

namespace {
const wire::Logger kLog("net");
} // namespace

struct Listener::Connection {
    std::thread thread;
    std::string address; // "" for an accepted socket: its peer's address
    std::shared_ptr<void> companion;
    std::atomic<bool> done{false};
    std::mutex mutex; // guards fd
    // The accepted socket. The session works on a dup of it, so stop() can
    // always shutdown() this one to unblock the session's I/O without racing
    // the session's close().
    base::UniqueFd fd;
};

Listener::Listener(const Credentials& credentials, ListenerConfig config, PeerCheck check,
                   HelloCheck helloCheck, Handler handler)
    : creds_(credentials), config_(std::move(config)), check_(std::move(check)),
      helloCheck_(std::move(helloCheck)), handler_(std::move(handler)) {
    start();
}

Listener::Listener(const Credentials& credentials, ListenerConfig config, PeerCheck check,
                   SessionHandler handler)
    : creds_(credentials), config_(std::move(config)), check_(std::move(check)),
      sessionHandler_(std::move(handler)) {
    start();
}

void Listener::start() {
    listenFd_ = listenTcp(config_.host, config_.port);
    port_ = localPort(listenFd_.get());
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    wakeRead_ = base::UniqueFd(pipeFds[0]);
    wakeWrite_ = base::UniqueFd(pipeFds[1]);
    acceptThread_ = std::thread([this] { acceptLoop(); });
}

Listener::~Listener() {
    stop();
}

ListenerStats Listener::stats() const {
    ListenerStats s;
    s.accepted = accepted_;
    s.refused = refused_;
    s.handshakeFailed = handshakeFailed_;
    s.helloRejected = helloRejected_;
    s.handled = handled_;
    s.bufferedBytes = buffered_;
    std::lock_guard lock(mutex_);
    for (const auto& c : connections_)
        if (!c->done)
            ++s.active;
    return s;
}

void Listener::stop() {
    if (stopping_.exchange(true))
        return;
    char byte = 1;
    (void)!::write(wakeWrite_.get(), &byte, 1);
    if (acceptThread_.joinable())
        acceptThread_.join();
    std::list<std::unique_ptr<Connection>> all;
    {
        std::lock_guard lock(mutex_);
        for (auto& c : connections_) {
            std::lock_guard connLock(c->mutex);
            if (c->fd)
                ::shutdown(c->fd.get(), SHUT_RDWR);
        }
        all.swap(connections_);
    }
    for (auto& c : all)
        c->thread.join();
}

void Listener::reap() {
    std::list<std::unique_ptr<Connection>> finished;
    {
        std::lock_guard lock(mutex_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            if ((*it)->done) {
                auto next = std::next(it);
                finished.splice(finished.end(), connections_, it);
                it = next;
            } else {
                ++it;
            }
        }
    }
    for (auto& c : finished)
        c->thread.join();
}

void Listener::acceptLoop() {
    pollfd fds[2] = {{listenFd_.get(), POLLIN, 0}, {wakeRead_.get(), POLLIN, 0}};
    while (!stopping_) {
        // Wake at least once a second so finished threads are joined even
        // when no one connects.
        int n = ::poll(fds, 2, 1000);
        reap();
        if (n < 0 && errno != EINTR) {
            kLog.error("listener poll failed: {}", std::strerror(errno));
            return;
        }
        if (stopping_ || n <= 0 || (fds[0].revents & POLLIN) == 0)
            continue;
        for (;;) {
            int raw = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (raw < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    // The pending connection stays readable: pause instead
                    // of spinning until descriptors free up.
                    kLog.warn("listener: cannot accept: {}", std::strerror(errno));
                    pollfd wake{wakeRead_.get(), POLLIN, 0};
                    ::poll(&wake, 1, 100);
                }
                break; // EAGAIN or a resource error: back to poll
            }
            startConnection(base::UniqueFd(raw), {}, {});
        }
    }
}

bool Listener::adopt(base::UniqueFd socket, std::string address, std::shared_ptr<void> companion) {
    if (stopping_)
        return false;
    prepareSocket(socket.get());
    return startConnection(std::move(socket), std::move(address), std::move(companion));
}

bool Listener::startConnection(base::UniqueFd fd, std::string address,
                               std::shared_ptr<void> companion) {
    std::lock_guard lock(mutex_);
    if (stopping_)
        return false;
    std::size_t active = 0;
    for (const auto& c : connections_)
        if (!c->done)
            ++active;
    if (active >= config_.maxConnections) {
        ++refused_;
        kLog.debug("listener: refusing {}: {} sessions already",
                   address.empty() ? peerAddress(fd.get()) : address, active);
        return false; // fd closes here: refused fast, no TLS work done
    }
    auto conn = std::make_unique<Connection>();
    conn->fd = std::move(fd);
    conn->address = std::move(address);
    conn->companion = std::move(companion);
    Connection* c = conn.get();
    try {
        c->thread = std::thread([this, c] { serve(*c); });
    } catch (const std::system_error& e) {
        // Out of threads: refuse like an over-limit connection.
        ++refused_;
        kLog.warn("listener: cannot start a session thread: {}", e.what());
        return false;
    }
    ++accepted_;
    connections_.push_back(std::move(conn));
    return true;
}

void Listener::serve(Connection& conn) {
    Deadline deadline = SteadyClock::now() + config_.limits.handshake;
    base::UniqueFd dup;
    std::string address;
    {
        std::lock_guard lock(conn.mutex);
        address = conn.address.empty() ? peerAddress(conn.fd.get()) : conn.address;
        dup = base::UniqueFd(::fcntl(conn.fd.get(), F_DUPFD_CLOEXEC, 0));
    }
    auto finish = [&conn] {
        std::lock_guard lock(conn.mutex);
        conn.fd.reset();
        conn.done = true;
    };
    if (!dup || stopping_) {
        finish();
        return;
    }
    auto session = Session::handshake(std::move(dup), creds_, Role::kServer, check_, config_.limits,
                                      deadline, &buffered_);
    if (!session) {
        ++handshakeFailed_;
        kLog.info("session from {} refused in handshake: {}", address, describe(session.error()));
        finish();
        return;
    }
    if (!conn.address.empty())
        (*session)->setPeerAddress(address);
    if (sessionHandler_) {
        ++handled_;
        runHandler(**session, [&](Session& s) { sessionHandler_(s); });
    } else {
        serveHello(**session, address, deadline);
    }
    session->reset();
    finish();
}

void Listener::runHandler(Session& session, const std::function<void(Session&)>& handler) {
    try {
        handler(session);
    } catch (const std::exception& e) {
        kLog.error("session handler for {} failed: {}", wire::PeerId(session.peer()).shortStr(),
                   e.what());
    } catch (...) {
        kLog.error("session handler for {} failed", wire::PeerId(session.peer()).shortStr());
    }
}

void Listener::serveHello(Session& s, const std::string& address, Deadline deadline) {
    const std::string peer = wire::PeerId(s.peer()).shortStr();
    // The hello must arrive within the same handshake bound.
    auto raw = s.receiveBy(deadline);
    std::expected<wire::Hello, Error> hello =
        raw ? s.bodyOrBreak<wire::Hello>(*raw)
            : std::expected<wire::Hello, Error>(std::unexpected(raw.error()));
    if (hello) {
        std::expected<void, Error> ok =
            std::unexpected(Error(Error::Code::kUntrusted, "no hello check"));
        try {
            if (helloCheck_)
                ok = helloCheck_(s.peer(), *hello);
        } catch (const std::exception& e) {
            ok = std::unexpected(
                Error(Error::Code::kUntrusted, std::string("hello check failed: ") + e.what()));
        }
        if (!ok)
            hello = std::unexpected(ok.error());
    }
    if (!hello) {
        ++helloRejected_;
        kLog.info("session from {} ({}) rejected at hello: {}", address, peer,
                  describe(hello.error()));
        if (!s.broken()) {
            wire::ErrorMsg reply;
            reply.code = static_cast<std::uint32_t>(hello.error().code);
            reply.message = "hello rejected";
            (void)s.send(reply);
        }
        return;
    }
    ++handled_;
    kLog.debug("session from {} ({}) accepted", address, peer);
    runHandler(s, [&](Session& session) { handler_(session, *hello); });
}

} // namespace swarm::net

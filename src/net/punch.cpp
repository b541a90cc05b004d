#include "net/punch.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>

namespace swarm::net {

namespace {

using std::chrono::milliseconds;

struct Address {
    sockaddr_storage storage{};
    socklen_t len = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// The first address getaddrinfo gives, or its message.
std::expected<Address, std::string> resolve(const std::string& host, std::uint16_t port,
                                            int flags) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | flags;
    addrinfo* res = nullptr;
    auto service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
        return std::unexpected(std::string(gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    Address a;
    std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
    a.len = res->ai_addrlen;
    return a;
}

Address wildcard(int family, std::uint16_t port) {
    Address a;
    if (family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_any;
        in6->sin6_port = htons(port);
        a.len = sizeof(sockaddr_in6);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons(port);
        a.len = sizeof(sockaddr_in);
    }
    return a;
}

// A non-blocking socket bound to `local` with SO_REUSEADDR and SO_REUSEPORT,
// or the errno of what failed.
std::expected<base::UniqueFd, int> openReusable(const Address& local) {
    base::UniqueFd fd(::socket(local.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        return std::unexpected(errno);
    int one = 1;
    // A wildcard IPv6 punch socket must not also claim the IPv4 port.
    if (local.family() == AF_INET6 &&
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        return std::unexpected(errno);
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        ::bind(fd.get(), local.get(), local.len) != 0)
        return std::unexpected(errno);
    return fd;
}

// connect() on a non-blocking socket, waiting until `until`: 0 once
// connected, else the errno (ETIMEDOUT when nothing answered in time).
int connectWithin(int fd, const Address& remote, Deadline until) {
    if (::connect(fd, remote.get(), remote.len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    pollfd pfd{fd, POLLOUT, 0};
    int n;
    do {
        n = ::poll(&pfd, 1, millisUntil(until));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return ETIMEDOUT;
    if (n < 0)
        return errno;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}

enum class Outcome { kNoAnswer, kRefused, kUnreachable, kLocal };

Outcome classify(int err) {
    switch (err) {
    case ETIMEDOUT:
        return Outcome::kNoAnswer;
    case ECONNREFUSED:
    case ECONNRESET:
        return Outcome::kRefused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EPERM: // a firewall on the way dropped our SYN
        return Outcome::kUnreachable;
    default:
        return Outcome::kLocal;
    }
}

// The failed attempts of one punch, for the error it returns.
struct Tally {
    int attempts = 0;
    int refused = 0;
    int unreachable = 0;
    int lastErr = 0; // of the last refused or unreachable attempt

    void add(int err) {
        ++attempts;
        auto outcome = classify(err);
        refused += outcome == Outcome::kRefused;
        unreachable += outcome == Outcome::kUnreachable;
        if (outcome == Outcome::kRefused || outcome == Outcome::kUnreachable)
            lastErr = err;
    }

    Error error(const Endpoint& remote, milliseconds elapsed) const {
        auto within = " within " + std::to_string(elapsed.count()) + " ms";
        auto count = std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
        if (refused == 0 && unreachable == 0)
            return Error(Error::Code::kTimeout,
                         "no answer from " + remote.str() + within + " (" + count + ")");
        std::string what = refused > 0 ? " refused " + std::to_string(refused) : "";
        if (unreachable > 0)
            what += (refused > 0 ? " and was" : " was") + std::string(" unreachable in ") +
                    std::to_string(unreachable);
        return Error(Error::Code::kRefused, remote.str() + what + " of " + count + within +
                                                " (last: " + std::strerror(lastErr) + ")");
    }
};

Error localError(const char* what, std::uint16_t port, const Endpoint& remote, int err) {
    return Error(Error::Code::kIo, std::string(what) + " port " + std::to_string(port) +
                                       " for a punch to " + remote.str() + ": " +
                                       std::strerror(err));
}

// Waits `retry` (at least 1 ms, so that no caller can make us spin), or
// until the deadline if that comes first. False when the deadline passed.
bool waitToRetry(milliseconds retry, Deadline deadline) {
    auto wait = std::min(std::max(retry, milliseconds(1)), milliseconds(millisUntil(deadline)));
    std::this_thread::sleep_for(wait);
    return SteadyClock::now() < deadline;
}

} // namespace

base::UniqueFd bindReusable(const std::string& host, std::uint16_t port) {
    auto name = host.empty() ? std::string("0.0.0.0") : host;
    auto local = resolve(name, port, AI_PASSIVE);
    if (!local)
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "bind: cannot resolve " + name + ": " + local.error());
    auto fd = openReusable(*local);
    if (!fd)
        throw std::system_error(fd.error(), std::generic_category(),
                                "bind " + name + ":" + std::to_string(port));
    return std::move(*fd);
}

std::expected<base::UniqueFd, Error> punchTcp(std::uint16_t localPort, const Endpoint& remote,
                                              Deadline deadline, milliseconds retry) {
    auto start = SteadyClock::now();
    auto peer = resolve(remote.host, remote.port, AI_NUMERICHOST);
    if (!peer)
        return std::unexpected(
            Error(Error::Code::kRefused, "cannot resolve " + remote.host + ": " + peer.error()));
    auto local = wildcard(peer->family(), localPort);
    Tally tally;
    do {
        auto fd = openReusable(local);
        if (!fd)
            return std::unexpected(localError("cannot bind", localPort, remote, fd.error()));
        auto until = std::min(deadline, SteadyClock::now() + kPunchAttemptTimeout);
        int err = connectWithin(fd->get(), *peer, until);
        if (err == 0) {
            prepareSocket(fd->get());
            return std::move(*fd);
        }
        if (classify(err) == Outcome::kLocal)
            return std::unexpected(localError("cannot connect from", localPort, remote, err));
        tally.add(err);
    } while (waitToRetry(retry, deadline));
    auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    return std::unexpected(tally.error(remote, elapsed));
}

} // namespace swarm::net

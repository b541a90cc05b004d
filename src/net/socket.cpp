#include "net/socket.hpp"

#include "wire/peer_id.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace swarm::net {

int millisUntil(Deadline deadline) noexcept {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0)
        return 0;
    if (left.count() > INT_MAX)
        return INT_MAX;
    return static_cast<int>(left.count());
}

std::expected<Endpoint, Error> Endpoint::parse(std::string_view text) {
    std::string relay;
    if (text.starts_with(kRelayPrefix)) {
        text.remove_prefix(kRelayPrefix.size());
        auto at = text.find('@');
        if (at == std::string_view::npos)
            return std::unexpected(
                Error(Error::Code::kProtocol, "endpoint: expected relay:<peer-id>@host:port"));
        if (auto id = wire::PeerId::parse(text.substr(0, at)); !id)
            return std::unexpected(
                Error(Error::Code::kProtocol, "endpoint: relay peer id: " + id.error().what));
        relay = std::string(text.substr(0, at));
        text.remove_prefix(at + 1);
    }
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::unexpected(Error(Error::Code::kProtocol, "endpoint: expected [addr]:port"));
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return std::unexpected(Error(Error::Code::kProtocol, "endpoint: expected host:port"));
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty())
        return std::unexpected(Error(Error::Code::kProtocol, "endpoint: empty host"));
    unsigned value = 0;
    if (port.empty() || port.size() > 5)
        return std::unexpected(Error(Error::Code::kProtocol, "endpoint: bad port"));
    for (char c : port) {
        if (c < '0' || c > '9')
            return std::unexpected(Error(Error::Code::kProtocol, "endpoint: bad port"));
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535)
        return std::unexpected(Error(Error::Code::kProtocol, "endpoint: port out of range"));
    return Endpoint{std::string(host), static_cast<std::uint16_t>(value), std::move(relay)};
}

std::string Endpoint::str() const {
    std::string out = relay.empty() ? "" : std::string(kRelayPrefix) + relay + "@";
    if (host.find(':') != std::string::npos)
        return out + "[" + host + "]:" + std::to_string(port);
    return out + host + ":" + std::to_string(port);
}

namespace {

[[noreturn]] void throwErrno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

void prepareSocket(int fd) noexcept {
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0)
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

namespace {

base::UniqueFd listenOn(const std::string& host, std::uint16_t port, int backlog, bool dualStack) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0)
        throw std::runtime_error("listen: cannot resolve " + host + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    base::UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        throwErrno("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dualStack) {
        int zero = 0; // IPv4 too, as v4-mapped addresses
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0)
        throwErrno("bind");
    if (::listen(fd.get(), backlog) != 0)
        throwErrno("listen");
    return fd;
}

} // namespace

base::UniqueFd listenTcp(const std::string& host, std::uint16_t port, int backlog) {
    if (host.empty() || host == "*") {
        // Every interface: one dual-stack socket, or IPv4 alone where the
        // host has no IPv6.
        try {
            return listenOn("::", port, backlog, true);
        } catch (const std::system_error&) {
            return listenOn("0.0.0.0", port, backlog, false);
        }
    }
    return listenOn(host, port, backlog, false);
}

std::uint16_t localPort(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throwErrno("getsockname");
    if (addr.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

namespace {
// Binds `fd` to a free port of `family`'s wildcard address, shareable as
// punchTcp() needs; the errno of what failed, or 0.
int bindShareable(int fd, int family) {
    int one = 1;
    sockaddr_storage local{};
    socklen_t len = sizeof(sockaddr_in);
    local.ss_family = static_cast<sa_family_t>(family);
    if (family == AF_INET6) {
        len = sizeof(sockaddr_in6);
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
            return errno;
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), len) != 0)
        return errno;
    return 0;
}
} // namespace

std::expected<base::UniqueFd, Error> connectTcp(const Endpoint& endpoint, Deadline deadline,
                                                bool shareablePort) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(endpoint.port);
    int rc = ::getaddrinfo(endpoint.host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0)
        return std::unexpected(Error(Error::Code::kRefused,
                                     "cannot resolve " + endpoint.host + ": " + gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    std::string last = "no address";
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        base::UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd) {
            last = std::strerror(errno);
            continue;
        }
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (shareablePort) {
            if (int err = bindShareable(fd.get(), ai->ai_family); err != 0) {
                last = std::string("cannot bind a shareable port: ") + std::strerror(err);
                continue;
            }
        }
        if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0)
            return fd;
        if (errno != EINPROGRESS) {
            last = std::strerror(errno);
            continue;
        }
        pollfd pfd{fd.get(), POLLOUT, 0};
        int n;
        do {
            n = ::poll(&pfd, 1, millisUntil(deadline));
        } while (n < 0 && errno == EINTR);
        if (n == 0)
            return std::unexpected(
                Error(Error::Code::kTimeout, "connect to " + endpoint.str() + " timed out"));
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (n > 0 && err == 0)
            return fd;
        last = std::strerror(err != 0 ? err : errno);
    }
    return std::unexpected(
        Error(Error::Code::kRefused, "connect to " + endpoint.str() + ": " + last));
}

std::string peerAddress(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return "?";
    char host[INET6_ADDRSTRLEN] = "?";
    std::uint16_t port = 0;
    if (addr.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
        port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) { // IPv4 on a dual-stack socket
            ::inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof host);
            return std::string(host) + ":" + std::to_string(port);
        }
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        return std::string("[") + host + "]:" + std::to_string(port);
    }
    if (addr.ss_family != AF_INET)
        return "local";
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
}

namespace {

std::expected<void, Error> waitFor(int fd, short events, Deadline deadline) {
    pollfd pfd{fd, events, 0};
    for (;;) {
        int n = ::poll(&pfd, 1, millisUntil(deadline));
        if (n > 0)
            return {};
        if (n == 0)
            return std::unexpected(Error(Error::Code::kTimeout, "socket deadline passed"));
        if (errno != EINTR)
            return std::unexpected(Error(Error::Code::kIo, std::strerror(errno)));
    }
}

} // namespace

std::expected<void, Error> writeAll(int fd, const void* data, std::size_t size, Deadline deadline) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            size -= static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (auto w = waitFor(fd, POLLOUT, deadline); !w)
                return w;
            continue;
        }
        return std::unexpected(Error(Error::Code::kIo, std::strerror(errno)));
    }
    return {};
}

std::expected<void, Error> readAll(int fd, void* data, std::size_t size, Deadline deadline) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::recv(fd, p, size, 0);
        if (n > 0) {
            p += n;
            size -= static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0)
            return std::unexpected(Error(Error::Code::kClosed, "peer closed the connection"));
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (auto w = waitFor(fd, POLLIN, deadline); !w)
                return w;
            continue;
        }
        return std::unexpected(Error(Error::Code::kIo, std::strerror(errno)));
    }
    return {};
}

} // namespace swarm::net

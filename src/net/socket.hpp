#pragma once

#include "base/unique_fd.hpp"
#include "net/error.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace swarm::net {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

/// Milliseconds left until `deadline`, clamped to [0, INT_MAX].
int millisUntil(Deadline deadline) noexcept;

/// "host:port" or "[v6addr]:port"; or "relay:<peer-id>@host:port", a
/// circuit through the relay with that peer id at host:port to the peer
/// that named the endpoint (docs/protocol.md "Relay").
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string relay; ///< the relay's peer id; empty for a direct endpoint

    static constexpr std::string_view kRelayPrefix = "relay:";

    /// Parses the text form; kProtocol naming what is wrong.
    static std::expected<Endpoint, Error> parse(std::string_view text);
    std::string str() const;
};

/// A non-blocking listening TCP socket bound to `host:port` (port 0 picks
/// one); host "" or "*" is every interface, IPv6 and IPv4 on one socket
/// where the host has IPv6. Throws std::system_error on failure.
base::UniqueFd listenTcp(const std::string& host, std::uint16_t port, int backlog = 128);

/// The local port a socket is bound to. Throws std::system_error.
std::uint16_t localPort(int fd);

/// Connects a non-blocking TCP socket (TCP_NODELAY set), waiting at most
/// until `deadline`. The host is resolved with getaddrinfo (may block on DNS).
/// kRefused / kTimeout on failure. With `shareablePort`, the socket is first
/// bound to a free local port with SO_REUSEADDR and SO_REUSEPORT, so that a
/// hole punch can later use the same port while this connection lasts
/// (net/punch.hpp).
std::expected<base::UniqueFd, Error> connectTcp(const Endpoint& endpoint, Deadline deadline,
                                                bool shareablePort = false);

/// Sets O_NONBLOCK and TCP_NODELAY (where applicable) on an accepted socket.
void prepareSocket(int fd) noexcept;

/// The peer address of a connected socket as "ip:port", for logs.
std::string peerAddress(int fd);

/// Blocking-style helpers over a non-blocking fd with a deadline, for plain
/// TCP (benchmarks, tests). kTimeout / kClosed / kIo.
std::expected<void, Error> writeAll(int fd, const void* data, std::size_t size, Deadline deadline);
std::expected<void, Error> readAll(int fd, void* data, std::size_t size, Deadline deadline);

} // namespace swarm::net

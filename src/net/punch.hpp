#pragma once

// TCP hole punching: a direct connection between two hosts that are each
// behind a NAT, by TCP simultaneous open from fixed, shared local ports.

#include "base/unique_fd.hpp"
#include "net/error.hpp"
#include "net/socket.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>

namespace swarm::net {

/// How long one attempt of punchTcp() waits for its connect() before a fresh
/// socket sends a fresh SYN (the kernel's own SYN retransmission waits 1 s,
/// then 2 s, ...), unless the deadline comes first.
inline constexpr std::chrono::milliseconds kPunchAttemptTimeout{1000};

/// A TCP socket bound to `host:port` with SO_REUSEADDR and SO_REUSEPORT set,
/// neither listening nor connected (non-blocking, close-on-exec); port 0
/// picks a free port (see localPort()), host "" is 0.0.0.0. Any number of
/// such sockets of the same user can share the port, so one port can carry
/// an outbound connection to a relay (connect() this socket) and later the
/// punch (punchTcp() with the same port) while this socket stays open. The
/// caller owns the socket. Throws std::system_error when the host does not
/// resolve or bind() fails (e.g. the port is held by a socket without
/// SO_REUSEPORT).
base::UniqueFd bindReusable(const std::string& host, std::uint16_t port);

/// A direct TCP connection to `remote` from local port `localPort`, by TCP
/// simultaneous open. Blocks the calling thread until it connects or
/// `deadline` passes; any thread may call it.
///
/// For it to work, both sides call punchTcp() at about the same time (as
/// told by a rendezvous both can reach), each with the other's public
/// endpoint: the address and port its NAT shows the world for `localPort`.
/// The public port equals the local port only behind a port-preserving NAT
/// ("cone", e.g. Linux `masquerade`), which the caller learns from a relay
/// or rendezvous seeing the connection come from the same port. It works
/// through such NATs when they drop unsolicited inbound packets (as home
/// routers do): the first side's SYN is dropped by the far NAT but opens its
/// own, and the second side's SYN then meets the first side's connecting
/// socket (simultaneous open). A host with a public address may take part
/// too: it refuses early SYNs, which the other side retries. It fails
/// through a NAT that picks a random port per connection ("symmetric",
/// `masquerade random,fully-random`) and, but for lucky timing, through a
/// router that answers unsolicited SYNs with a RST: then only a relay helps. A start skew of a
/// second or so costs time, not success: a SYN waits for its answer up to
/// kPunchAttemptTimeout, a refused attempt is retried after `retry`.
///
/// Each attempt binds a fresh bindReusable() socket to the wildcard address
/// of `remote`'s family and `localPort`, connects, and waits at most
/// kPunchAttemptTimeout. Attempts refused (a RST: the other side was not
/// connecting yet), unreachable or unanswered are retried after `retry`
/// until the deadline; no retry is made without that wait.
///
/// Returns the first connected socket, non-blocking with TCP_NODELAY set,
/// like connectTcp(). Errors: kTimeout "no answer from X within N ms" when
/// no attempt got an answer; kRefused when attempts were refused or the
/// network unreachable (the text says which and how often), or `remote`
/// does not resolve; kIo when the local port cannot be bound (held by a
/// socket without SO_REUSEPORT) or connect() fails for a local reason (then
/// at once, without retrying). `retry` under 1 ms is taken as 1 ms.
std::expected<base::UniqueFd, Error>
punchTcp(std::uint16_t localPort, const Endpoint& remote, Deadline deadline,
         std::chrono::milliseconds retry = std::chrono::milliseconds(200));

} // namespace swarm::net

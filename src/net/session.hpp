#pragma once

#include "net/error.hpp"
#include "net/peer_check.hpp"
#include "net/socket.hpp"
#include "wire/codec.hpp"
#include "wire/messages.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <memory>

namespace swarm::net {

class Credentials;

/// Bounds that keep a slow or hostile peer from holding a session forever.
struct SessionLimits {
    /// TCP connect + TLS handshake (+ the hello, on a listener) must finish
    /// within this.
    std::chrono::milliseconds handshake{10'000};
    /// Once the first byte of a frame has arrived, the whole frame must.
    std::chrono::milliseconds frame{30'000};
    /// One send() must be taken by the peer within this.
    std::chrono::milliseconds write{30'000};
    /// Hard cap on one frame's payload; a bigger announcement ends the session.
    std::size_t maxFrame = wire::kDefaultMaxFrame;
    /// msgpack limits for decoding each message.
    wire::UnpackLimits unpack{};
};

enum class Role { kClient, kServer };

/// One mutually authenticated TLS 1.3 stream carrying length-prefixed
/// msgpack messages (wire/messages.hpp).
///
/// Threads: one thread may call send() while another calls receive(); no
/// two threads may send (or receive) at once. Every failure except an idle
/// receive timeout breaks the session: later calls fail with kClosed.
class Session {
public:
    /// Runs the TLS handshake on a connected socket (non-blocking or not;
    /// it is made non-blocking). `check` runs inside the handshake on the
    /// peer's key; a rejection fails the handshake with kUntrusted and its
    /// reason. The whole handshake must finish by `deadline`. If
    /// `bufferedTotal` is given, the bytes this session buffers for partial
    /// frames are added to it while buffered (for a listener's accounting).
    static std::expected<std::unique_ptr<Session>, Error>
    handshake(base::UniqueFd socket, const Credentials& credentials, Role role, PeerCheck check,
              const SessionLimits& limits, Deadline deadline,
              std::atomic<std::int64_t>* bufferedTotal = nullptr);

    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// The peer's authenticated Ed25519 key.
    const wire::PublicKey& peer() const noexcept;
    /// "ip:port" of the peer, for logs ("via relay ..." over a circuit).
    const std::string& peerAddress() const noexcept;
    /// Names the path to the peer, for a session whose socket is not the
    /// peer's own (a relay circuit's local end). Call before sharing it.
    void setPeerAddress(std::string address);
    /// Keeps `companion` alive as long as the session (e.g. the circuit that
    /// carries its bytes); it is released after the socket is closed.
    void keepWith(std::shared_ptr<void> companion);
    const SessionLimits& limits() const noexcept;

    /// Encodes and sends one message; blocks until the peer took it or the
    /// write deadline passed (kTimeout, fatal).
    template <typename T> std::expected<void, Error> send(const T& msg) {
        return sendPayload(wire::encodeMessage(msg));
    }
    /// A blob chunk, sent without encoding its data into a message buffer:
    /// the same bytes as the template above, with the data sealed straight
    /// from `chunk.data`. kTooLarge (not fatal) if over the frame cap.
    std::expected<void, Error> send(const wire::BlobChunk& chunk);
    /// Sends one already-encoded message payload (frame header added here).
    /// kTooLarge (not fatal) if it exceeds the frame cap.
    std::expected<void, Error> sendPayload(wire::ByteView payload);
    /// Writes bytes to the stream as they are, without framing: for
    /// diagnostics and for exercising a peer's parser in tests.
    std::expected<void, Error> writeRaw(wire::ByteView bytes);

    /// Waits up to `idle` for the next message to begin, then up to
    /// limits().frame for it to complete. An idle timeout with nothing
    /// received returns kTimeout and leaves the session usable; every other
    /// error (truncated, oversized, undecodable, mid-frame timeout) breaks it.
    std::expected<wire::RawMessage, Error> receive(std::chrono::milliseconds idle);
    /// As receive(), but the whole message must have arrived by `deadline`.
    std::expected<wire::RawMessage, Error> receiveBy(Deadline deadline);
    /// receive() and bodyAs<T>; a message of another type breaks the session
    /// (kProtocol).
    template <typename T> std::expected<T, Error> receiveAs(std::chrono::milliseconds idle) {
        auto raw = receive(idle);
        if (!raw)
            return std::unexpected(raw.error());
        return bodyOrBreak<T>(*raw);
    }
    /// bodyAs<T>, breaking the session when the body does not fit.
    template <typename T> std::expected<T, Error> bodyOrBreak(const wire::RawMessage& raw) {
        auto body = wire::bodyAs<T>(raw);
        if (!body) {
            markBroken();
            return std::unexpected(fromWire(body.error()));
        }
        return std::move(*body);
    }

    /// Sends a TLS close_notify (bounded by the write deadline) and shuts
    /// the socket down. Idempotent; the destructor does it too.
    void close() noexcept;
    /// Shuts the socket down from any thread, unblocking a pending
    /// send()/receive() (used by Listener::stop()).
    void abort() noexcept;
    /// True once a fatal error or close() happened.
    bool broken() const noexcept;
    /// True if the socket has room now, so that a small message (a few
    /// hundred bytes) is taken without waiting for the peer to read; false
    /// while a peer that stopped reading leaves the buffers full, or once
    /// broken.
    bool writable() const noexcept;
    /// Bytes currently buffered for a partial frame (at most one frame cap).
    std::size_t bufferedBytes() const noexcept;

    struct Impl;

private:
    explicit Session(std::unique_ptr<Impl> impl);
    std::expected<wire::RawMessage, Error> receiveImpl(Deadline idleDeadline, bool frameBounded,
                                                       Deadline hardDeadline);
    void markBroken() noexcept;
    std::expected<void, Error> writeParts(std::initializer_list<wire::ByteView> parts);
    std::unique_ptr<Impl> impl_;
};

} // namespace swarm::net

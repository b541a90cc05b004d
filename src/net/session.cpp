#include "net/session.hpp"

#include "net/credentials.hpp"
#include "net/tls_internal.hpp"
#include "wire/log.hpp"

#include <gnutls/abstract.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace swarm::net {

namespace {

const wire::Logger kLog("net");

struct SessionDeleter {
    void operator()(gnutls_session_t s) const noexcept { gnutls_deinit(s); }
};
using SessionHandle = std::unique_ptr<std::remove_pointer_t<gnutls_session_t>, SessionDeleter>;

struct PubkeyDeleter {
    void operator()(gnutls_pubkey_t k) const noexcept { gnutls_pubkey_deinit(k); }
};

} // namespace

struct Session::Impl {
    Fd fd;
    std::shared_ptr<Credentials::Impl> credentials; // outlives the GnuTLS session
    SessionHandle tls;
    SessionLimits limits;
    PeerCheck check;
    std::string address;
    wire::PublicKey peer;
    std::optional<Error> rejection; // why the verifier refused the peer
    bool verified = false;          // the verifier ran and accepted `peer`

    // Absolute deadlines the transport callbacks obey. The read side and
    // the write side are used by at most one thread each.
    Deadline readDeadline{};
    Deadline writeDeadline{};
    bool readTimedOut = false;
    bool writeTimedOut = false;

    // Raw bytes read ahead of GnuTLS: one recv() serves several of its
    // small reads (record header, then body). At most kReadAhead bytes.
    std::vector<std::uint8_t> readAhead;
    std::size_t readPos = 0;
    bool hasReadAhead() const noexcept { return readPos < readAhead.size(); }

    // The frame being read: its 4-byte header, then its payload, read
    // straight into `payload` (no intermediate copies). The length is
    // checked against the cap before the payload buffer grows, exactly as
    // wire::FrameReader does. The buffer is reused; it never exceeds the cap.
    std::array<std::uint8_t, wire::kFrameHeader> header{};
    std::size_t headerGot = 0;
    std::unique_ptr<std::uint8_t[]> payload;
    std::size_t payloadCapacity = 0;
    std::size_t payloadLength = 0;
    std::size_t payloadGot = 0;
    bool inPayload = false;
    bool midFrame() const noexcept { return headerGot > 0; }
    std::atomic<std::size_t> buffered{0};
    std::atomic<std::int64_t>* bufferedTotal = nullptr;
    std::atomic<bool> broken{false};
    std::once_flag closed;

    explicit Impl(const SessionLimits& l) : limits(l) {}

    void setBuffered(std::size_t n) noexcept {
        std::size_t old = buffered.exchange(n);
        if (bufferedTotal != nullptr)
            bufferedTotal->fetch_add(static_cast<std::int64_t>(n) - static_cast<std::int64_t>(old));
    }
};

namespace {

// Transport callbacks: plain C, never throw. They wait with poll() until the
// side's absolute deadline, so a peer dribbling one byte at a time cannot
// stretch a handshake or a frame past its bound.
constexpr std::size_t kReadAhead = 64 * 1024;

// Waits (bounded by `deadline`) until the socket is ready for `events`.
// False, with errno set for GnuTLS, when the deadline passed (`timedOut` is
// then set) or poll() failed.
bool waitUntilReady(Session::Impl& impl, short events, Deadline deadline, bool& timedOut) noexcept {
    int ms = millisUntil(deadline);
    if (ms <= 0) {
        timedOut = true;
        gnutls_transport_set_errno(impl.tls.get(), ETIMEDOUT);
        errno = ETIMEDOUT;
        return false;
    }
    pollfd pfd{impl.fd.get(), events, 0};
    if (::poll(&pfd, 1, ms) < 0 && errno != EINTR) {
        gnutls_transport_set_errno(impl.tls.get(), errno);
        return false;
    }
    return true;
}

ssize_t pullFn(gnutls_transport_ptr_t ptr, void* data, size_t size) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    for (;;) {
        if (impl->hasReadAhead()) {
            std::size_t n = std::min(size, impl->readAhead.size() - impl->readPos);
            std::memcpy(data, impl->readAhead.data() + impl->readPos, n);
            impl->readPos += n;
            return static_cast<ssize_t>(n);
        }
        impl->readAhead.resize(kReadAhead);
        impl->readPos = 0;
        ssize_t n = ::recv(impl->fd.get(), impl->readAhead.data(), kReadAhead, 0);
        impl->readAhead.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (n > 0)
            continue;
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            gnutls_transport_set_errno(impl->tls.get(), errno);
            return -1;
        }
        if (!waitUntilReady(*impl, POLLIN, impl->readDeadline, impl->readTimedOut))
            return -1;
    }
}

ssize_t pushFn(gnutls_transport_ptr_t ptr, const void* data, size_t size) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    for (;;) {
        ssize_t n = ::send(impl->fd.get(), data, size, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            gnutls_transport_set_errno(impl->tls.get(), errno);
            return -1;
        }
        if (!waitUntilReady(*impl, POLLOUT, impl->writeDeadline, impl->writeTimedOut))
            return -1;
    }
}

// Sends several TLS records with one sendmsg() (used when a corked frame is
// flushed).
ssize_t vecPushFn(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(reinterpret_cast<const iovec*>(iov));
    msg.msg_iovlen = static_cast<std::size_t>(std::min(iovcnt, IOV_MAX));
    for (;;) {
        ssize_t n = ::sendmsg(impl->fd.get(), &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            gnutls_transport_set_errno(impl->tls.get(), errno);
            return -1;
        }
        if (!waitUntilReady(*impl, POLLOUT, impl->writeDeadline, impl->writeTimedOut))
            return -1;
    }
}

// The peer's raw public key must be an Ed25519 key accepted by the session's
// PeerCheck. Runs inside the handshake, before any application data.
int verifyFn(gnutls_session_t tls) noexcept {
    auto* impl = static_cast<Session::Impl*>(gnutls_session_get_ptr(tls));
    auto reject = [impl](std::string why) {
        impl->rejection = Error(Error::Code::kUntrusted, std::move(why));
        return GNUTLS_E_CERTIFICATE_ERROR;
    };
    try {
        if (gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_RAWPK)
            return reject("peer did not present a raw public key");
        unsigned count = 0;
        const gnutls_datum_t* certs = gnutls_certificate_get_peers(tls, &count);
        if (certs == nullptr || count != 1)
            return reject("peer presented no key");
        gnutls_pubkey_t raw = nullptr;
        if (gnutls_pubkey_init(&raw) < 0)
            return reject("out of memory");
        std::unique_ptr<std::remove_pointer_t<gnutls_pubkey_t>, PubkeyDeleter> key(raw);
        if (gnutls_pubkey_import(key.get(), &certs[0], GNUTLS_X509_FMT_DER) < 0)
            return reject("peer key does not parse");
        if (gnutls_pubkey_get_pk_algorithm(key.get(), nullptr) != GNUTLS_PK_EDDSA_ED25519)
            return reject("peer key is not Ed25519");
        gnutls_ecc_curve_t curve{};
        gnutls_datum_t x{};
        gnutls_datum_t y{};
        if (gnutls_pubkey_export_ecc_raw(key.get(), &curve, &x, &y) < 0)
            return reject("peer key does not export");
        bool ok = curve == GNUTLS_ECC_CURVE_ED25519 && x.size == 32;
        if (ok)
            std::memcpy(impl->peer.bytes.data(), x.data, 32);
        gnutls_free(x.data);
        gnutls_free(y.data);
        if (!ok)
            return reject("peer key is not a 32-byte Ed25519 key");
        if (!impl->check)
            return reject("no peer check configured");
        if (auto verdict = impl->check(impl->peer); !verdict) {
            impl->rejection = verdict.error();
            return GNUTLS_E_CERTIFICATE_ERROR;
        }
        impl->verified = true;
        return 0;
    } catch (const std::exception& e) {
        return reject(std::string("peer check failed: ") + e.what());
    } catch (...) {
        return reject("peer check failed");
    }
}

Error tlsError(Session::Impl& impl, int rc, bool reading) {
    if (reading ? impl.readTimedOut : impl.writeTimedOut)
        return Error(Error::Code::kTimeout,
                     reading ? "read deadline passed" : "write deadline passed");
    return Error(Error::Code::kTls, gnutls_strerror(rc));
}

} // namespace

std::expected<std::unique_ptr<Session>, Error>
Session::handshake(Fd socket, const Credentials& credentials, Role role, PeerCheck check,
                   const SessionLimits& limits, Deadline deadline,
                   std::atomic<std::int64_t>* bufferedTotal) {
    prepareSocket(socket.get());
    auto impl = std::make_unique<Impl>(limits);
    impl->address = net::peerAddress(socket.get());
    impl->fd = std::move(socket);
    impl->credentials = credentials.impl();
    impl->check = std::move(check);
    impl->bufferedTotal = bufferedTotal;

    unsigned flags = (role == Role::kServer ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_ENABLE_RAWPK |
                     GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL;
    gnutls_session_t raw = nullptr;
    if (int rc = gnutls_init(&raw, flags); rc < 0)
        return std::unexpected(Error(Error::Code::kTls, gnutls_strerror(rc)));
    impl->tls.reset(raw);
    gnutls_session_t tls = impl->tls.get();
    if (int rc = gnutls_priority_set(tls, impl->credentials->priority.get()); rc < 0)
        return std::unexpected(Error(Error::Code::kTls, gnutls_strerror(rc)));
    if (int rc = gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE,
                                        impl->credentials->credentials.get());
        rc < 0)
        return std::unexpected(Error(Error::Code::kTls, gnutls_strerror(rc)));
    if (role == Role::kServer)
        gnutls_certificate_server_set_request(tls, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_ptr(tls, impl.get());
    gnutls_session_set_verify_function(tls, &verifyFn);
    gnutls_transport_set_ptr(tls, impl.get());
    gnutls_transport_set_pull_function(tls, &pullFn);
    gnutls_transport_set_push_function(tls, &pushFn);
    gnutls_transport_set_vec_push_function(tls, &vecPushFn);
    gnutls_handshake_set_timeout(tls, GNUTLS_INDEFINITE_TIMEOUT);

    impl->readDeadline = deadline;
    impl->writeDeadline = deadline;
    int rc;
    do {
        rc = gnutls_handshake(tls);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        if (impl->rejection)
            return std::unexpected(*impl->rejection);
        if (impl->readTimedOut || impl->writeTimedOut)
            return std::unexpected(Error(Error::Code::kTimeout, "handshake deadline passed"));
        return std::unexpected(
            Error(Error::Code::kTls, std::string("handshake failed: ") + gnutls_strerror(rc)));
    }
    // The verifier must have run and accepted: never trust a handshake that
    // skipped it.
    unsigned peers = 0;
    if (!impl->verified || impl->rejection ||
        gnutls_certificate_get_peers(tls, &peers) == nullptr || peers != 1)
        return std::unexpected(Error(Error::Code::kUntrusted, "peer key was not verified"));
    if (kLog.enabled(wire::LogLevel::kDebug)) {
        char* desc = gnutls_session_get_desc(tls);
        kLog.debug("TLS session with {}: {}", impl->address, desc != nullptr ? desc : "?");
        gnutls_free(desc);
    }
    return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
    close();
    impl_->setBuffered(0);
}

const wire::PublicKey& Session::peer() const noexcept {
    return impl_->peer;
}
const std::string& Session::peerAddress() const noexcept {
    return impl_->address;
}
const SessionLimits& Session::limits() const noexcept {
    return impl_->limits;
}
bool Session::broken() const noexcept {
    return impl_->broken.load();
}
std::size_t Session::bufferedBytes() const noexcept {
    return impl_->buffered.load();
}

void Session::markBroken() noexcept {
    impl_->broken = true;
}

std::expected<void, Error> Session::writeParts(std::initializer_list<wire::ByteView> parts) {
    if (impl_->broken)
        return std::unexpected(Error(Error::Code::kClosed, "session is closed"));
    impl_->writeDeadline = SteadyClock::now() + impl_->limits.write;
    impl_->writeTimedOut = false;
    gnutls_session_t tls = impl_->tls.get();
    std::size_t total = 0;
    for (auto part : parts)
        total += part.size();
    // Corked, a frame leaves as one sendmsg() of all its records instead of
    // one send() per 16 KiB record: syscalls are what cost most here.
    const bool cork = parts.size() > 1 || total > 16 * 1024;
    if (cork)
        gnutls_record_cork(tls);
    for (auto part : parts) {
        std::size_t off = 0;
        while (off < part.size()) {
            ssize_t n = gnutls_record_send(tls, part.data() + off, part.size() - off);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n < 0) {
                markBroken();
                return std::unexpected(tlsError(*impl_, static_cast<int>(n), false));
            }
            off += static_cast<std::size_t>(n);
        }
    }
    if (cork) {
        int rc;
        do {
            rc = gnutls_record_uncork(tls, GNUTLS_RECORD_WAIT);
        } while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
        if (rc < 0) {
            markBroken();
            return std::unexpected(tlsError(*impl_, rc, false));
        }
    }
    return {};
}

std::expected<void, Error> Session::writeRaw(wire::ByteView bytes) {
    return writeParts({bytes});
}

std::expected<void, Error> Session::sendPayload(wire::ByteView payload) {
    if (payload.size() > impl_->limits.maxFrame)
        return std::unexpected(
            Error(Error::Code::kTooLarge,
                  "message of " + std::to_string(payload.size()) + " bytes is over the frame cap"));
    auto n = static_cast<std::uint32_t>(payload.size());
    const std::uint8_t header[wire::kFrameHeader] = {
        static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
        static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    return writeParts({wire::ByteView(header), payload});
}

std::expected<wire::RawMessage, Error> Session::receive(std::chrono::milliseconds idle) {
    return receiveImpl(SteadyClock::now() + idle, true, Deadline::max());
}

std::expected<wire::RawMessage, Error> Session::receiveBy(Deadline deadline) {
    return receiveImpl(deadline, false, deadline);
}

std::expected<wire::RawMessage, Error>
Session::receiveImpl(Deadline idleDeadline, bool frameBounded, Deadline hardDeadline) {
    Impl& impl = *impl_;
    if (impl.broken)
        return std::unexpected(Error(Error::Code::kClosed, "session is closed"));
    auto fail = [this](Error e) -> std::expected<wire::RawMessage, Error> {
        markBroken();
        impl_->setBuffered(0);
        return std::unexpected(std::move(e));
    };

    // Between frames, wait for the first byte without arming the frame
    // deadline: an idle timeout here is harmless and leaves the session
    // usable.
    if (!impl.midFrame() && !impl.hasReadAhead() &&
        gnutls_record_check_pending(impl.tls.get()) == 0) {
        pollfd pfd{impl.fd.get(), POLLIN, 0};
        for (;;) {
            int n = ::poll(&pfd, 1, millisUntil(idleDeadline));
            if (n > 0)
                break;
            if (n == 0)
                return std::unexpected(Error(Error::Code::kTimeout, "no message before deadline"));
            if (errno != EINTR)
                return fail(Error(Error::Code::kIo, std::strerror(errno)));
        }
    }
    impl.readDeadline = frameBounded ? SteadyClock::now() + impl.limits.frame : hardDeadline;
    impl.readTimedOut = false;

    for (;;) {
        std::uint8_t* into;
        std::size_t want;
        if (!impl.inPayload) {
            into = impl.header.data() + impl.headerGot;
            want = impl.header.size() - impl.headerGot;
        } else {
            into = impl.payload.get() + impl.payloadGot;
            want = impl.payloadLength - impl.payloadGot;
        }
        if (want > 0) {
            ssize_t n = gnutls_record_recv(impl.tls.get(), into, want);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n == 0) {
                if (impl.midFrame())
                    return fail(Error(Error::Code::kTruncated, "peer closed the stream mid-frame"));
                return fail(Error(Error::Code::kClosed, "peer closed the stream"));
            }
            if (n < 0) {
                if (n == GNUTLS_E_PREMATURE_TERMINATION && !impl.midFrame() && !impl.readTimedOut)
                    return fail(Error(Error::Code::kClosed, "peer closed the connection"));
                if (n == GNUTLS_E_PREMATURE_TERMINATION)
                    return fail(Error(Error::Code::kTruncated, "peer closed the stream mid-frame"));
                return fail(tlsError(impl, static_cast<int>(n), true));
            }
            if (!impl.inPayload)
                impl.headerGot += static_cast<std::size_t>(n);
            else
                impl.payloadGot += static_cast<std::size_t>(n);
            impl.setBuffered(impl.headerGot + impl.payloadGot);
        }
        if (!impl.inPayload && impl.headerGot == impl.header.size()) {
            const auto& h = impl.header;
            std::size_t len = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) |
                              (std::size_t{h[2]} << 8) | std::size_t{h[3]};
            if (len > impl.limits.maxFrame)
                return fail(
                    Error(Error::Code::kTooLarge, "frame of " + std::to_string(len) +
                                                      " bytes is over the limit of " +
                                                      std::to_string(impl.limits.maxFrame)));
            if (len > impl.payloadCapacity) {
                impl.payload = std::make_unique_for_overwrite<std::uint8_t[]>(len);
                impl.payloadCapacity = len;
            }
            impl.payloadLength = len;
            impl.payloadGot = 0;
            impl.inPayload = true;
        }
        if (impl.inPayload && impl.payloadGot == impl.payloadLength) {
            impl.headerGot = 0;
            impl.inPayload = false;
            impl.setBuffered(0);
            auto msg = wire::decodeMessage(wire::ByteView(impl.payload.get(), impl.payloadLength),
                                           impl.limits.unpack);
            if (!msg)
                return fail(fromWire(msg.error()));
            return std::move(*msg);
        }
    }
}

void Session::close() noexcept {
    std::call_once(impl_->closed, [this] {
        Impl& impl = *impl_;
        if (!impl.broken) {
            impl.writeDeadline =
                SteadyClock::now() + std::min(impl.limits.write, std::chrono::milliseconds(1000));
            gnutls_bye(impl.tls.get(), GNUTLS_SHUT_WR);
        }
        impl.broken = true;
        ::shutdown(impl.fd.get(), SHUT_RDWR);
    });
}

void Session::abort() noexcept {
    impl_->broken = true;
    ::shutdown(impl_->fd.get(), SHUT_RDWR);
}

} // namespace swarm::net

#include "net/session.hpp"

#include "net/credentials.hpp"
#include "net/tls_internal.hpp"
#include "wire/log.hpp"

#include <gnutls/abstract.h>

#include <algorithm>
#include <array>
#include <cassert>
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
    // Released after `fd` is closed (members are destroyed in reverse).
    std::shared_ptr<void> companion;
    base::UniqueFd fd;
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
    std::unique_ptr<std::uint8_t[]> readAhead;
    std::size_t readLen = 0;
    std::size_t readPos = 0;
    bool hasReadAhead() const noexcept { return readPos < readLen; }

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
    // Sending a frame larger than one record: its records are encrypted
    // straight from the caller's bytes (a partial record is assembled in
    // `stage`), gathered in `out` and leave in one send() per kOutCapacity,
    // instead of one syscall per 16 KiB record. Both are allocated on the
    // first large frame and reused; used by the sending thread only.
    std::unique_ptr<std::uint8_t[]> stage;
    std::size_t stageSize = 0;
    std::unique_ptr<std::uint8_t[]> out;
    std::size_t outUsed = 0;

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
// Ciphertext gathered before one send(): a 256 KiB blob-chunk frame is 17
// records (about 263 KiB sealed) and leaves in one syscall. A larger frame
// leaves whenever the next record would not fit.
constexpr std::size_t kOutCapacity = 320 * 1024;

// The session whose frame this thread is writing, if any: its push
// callbacks gather instead of sending. Per thread, because the receiving
// thread may make GnuTLS push (an alert) while a frame is being written.
thread_local Session::Impl* tGathering = nullptr;

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

// After a recv or send on the session's socket failed: true to try again
// (interrupted, or the socket became ready for `events` before its read or
// write deadline); false, with errno set for GnuTLS, otherwise.
bool retryAfterError(Session::Impl& impl, short events) noexcept {
    if (errno == EINTR)
        return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        gnutls_transport_set_errno(impl.tls.get(), errno);
        return false;
    }
    return events == POLLIN ? waitUntilReady(impl, POLLIN, impl.readDeadline, impl.readTimedOut)
                            : waitUntilReady(impl, POLLOUT, impl.writeDeadline, impl.writeTimedOut);
}

ssize_t pullFn(gnutls_transport_ptr_t ptr, void* data, size_t size) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    for (;;) {
        if (impl->hasReadAhead()) {
            std::size_t n = std::min(size, impl->readLen - impl->readPos);
            std::memcpy(data, impl->readAhead.get() + impl->readPos, n);
            impl->readPos += n;
            return static_cast<ssize_t>(n);
        }
        impl->readPos = 0;
        impl->readLen = 0;
        ssize_t n = ::recv(impl->fd.get(), impl->readAhead.get(), kReadAhead, 0);
        if (n > 0) {
            impl->readLen = static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0)
            return 0;
        if (!retryAfterError(*impl, POLLIN))
            return -1;
    }
}

// Sends `size` bytes, waiting (bounded by the write deadline) while the
// socket is full. False, with errno set for GnuTLS, on failure.
bool sendAll(Session::Impl& impl, const std::uint8_t* data, std::size_t size) noexcept {
    while (size > 0) {
        ssize_t n = ::send(impl.fd.get(), data, size, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            size -= static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            gnutls_transport_set_errno(impl.tls.get(), errno);
            return false;
        }
        if (!waitUntilReady(impl, POLLOUT, impl.writeDeadline, impl.writeTimedOut))
            return false;
    }
    return true;
}

bool flushGathered(Session::Impl& impl) noexcept {
    bool ok = sendAll(impl, impl.out.get(), impl.outUsed);
    impl.outUsed = 0;
    return ok;
}

// Takes records while a frame is being written: copies them (they are hot
// in cache, just encrypted) behind the ones already gathered.
ssize_t gather(Session::Impl& impl, const void* data, std::size_t size) noexcept {
    if (impl.outUsed + size > kOutCapacity && !flushGathered(impl))
        return -1;
    if (size > kOutCapacity)
        return sendAll(impl, static_cast<const std::uint8_t*>(data), size)
                   ? static_cast<ssize_t>(size)
                   : -1;
    std::memcpy(impl.out.get() + impl.outUsed, data, size);
    impl.outUsed += size;
    return static_cast<ssize_t>(size);
}

ssize_t pushFn(gnutls_transport_ptr_t ptr, const void* data, size_t size) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    if (tGathering == impl)
        return gather(*impl, data, size);
    for (;;) {
        ssize_t n = ::send(impl->fd.get(), data, size, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (!retryAfterError(*impl, POLLOUT))
            return -1;
    }
}

// Sends the records GnuTLS has queued with one sendmsg().
ssize_t vecPushFn(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) noexcept {
    auto* impl = static_cast<Session::Impl*>(ptr);
    if (tGathering == impl) {
        ssize_t total = 0;
        for (int i = 0; i < iovcnt; ++i) {
            if (gather(*impl, iov[i].iov_base, iov[i].iov_len) < 0)
                return -1;
            total += static_cast<ssize_t>(iov[i].iov_len);
        }
        return total;
    }
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(reinterpret_cast<const iovec*>(iov));
    msg.msg_iovlen = static_cast<std::size_t>(std::min(iovcnt, IOV_MAX));
    for (;;) {
        ssize_t n = ::sendmsg(impl->fd.get(), &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (!retryAfterError(*impl, POLLOUT))
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
Session::handshake(base::UniqueFd socket, const Credentials& credentials, Role role,
                   PeerCheck check, const SessionLimits& limits, Deadline deadline,
                   std::atomic<std::int64_t>* bufferedTotal) {
    prepareSocket(socket.get());
    auto impl = std::make_unique<Impl>(limits);
    impl->address = net::peerAddress(socket.get());
    impl->fd = std::move(socket);
    impl->credentials = credentials.impl();
    impl->check = std::move(check);
    impl->bufferedTotal = bufferedTotal;
    impl->readAhead = std::make_unique_for_overwrite<std::uint8_t[]>(kReadAhead);

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
void Session::setPeerAddress(std::string address) {
    impl_->address = std::move(address);
}
void Session::keepWith(std::shared_ptr<void> companion) {
    impl_->companion = std::move(companion);
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
bool Session::writable() const noexcept {
    if (broken())
        return false;
    pollfd p{impl_->fd.get(), POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0 &&
           (p.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0;
}

void Session::markBroken() noexcept {
    impl_->broken = true;
}

std::expected<void, Error> Session::writeParts(std::initializer_list<wire::ByteView> parts) {
    Impl& impl = *impl_;
    if (impl.broken)
        return std::unexpected(Error(Error::Code::kClosed, "session is closed"));
    impl.writeDeadline = SteadyClock::now() + impl.limits.write;
    impl.writeTimedOut = false;
    gnutls_session_t tls = impl.tls.get();
    const std::size_t record = gnutls_record_get_max_size(tls);
    std::size_t total = 0;
    for (auto part : parts)
        total += part.size();
    // Full records go to GnuTLS straight from the caller's bytes; the parts
    // of a record that spans parts (the frame header and the start of the
    // payload) are assembled in `stage`. No record is shorter than it must be.
    std::uint8_t smallStage[256];
    std::uint8_t* stage = smallStage;
    const bool gathering = total > record;
    if (total > sizeof smallStage) {
        if (impl.stageSize < record) {
            impl.stage = std::make_unique_for_overwrite<std::uint8_t[]>(record);
            impl.stageSize = record;
        }
        stage = impl.stage.get();
    }
    if (gathering && !impl.out)
        impl.out = std::make_unique_for_overwrite<std::uint8_t[]>(kOutCapacity);
    struct GatherScope {
        explicit GatherScope(Impl* i) { tGathering = i; }
        ~GatherScope() { tGathering = nullptr; }
    };
    std::optional<GatherScope> scope;
    if (gathering) {
        impl.outUsed = 0;
        scope.emplace(&impl);
    }
    auto fail = [&](int rc) -> std::expected<void, Error> {
        markBroken();
        impl.outUsed = 0;
        return std::unexpected(tlsError(impl, rc, false));
    };
    auto sendRecord = [&](const std::uint8_t* p, std::size_t n) -> int {
        while (n > 0) {
            ssize_t sent = gnutls_record_send(tls, p, n);
            if (sent == GNUTLS_E_AGAIN || sent == GNUTLS_E_INTERRUPTED)
                continue;
            if (sent < 0)
                return static_cast<int>(sent);
            p += sent;
            n -= static_cast<std::size_t>(sent);
        }
        return 0;
    };
    std::size_t staged = 0;
    for (auto part : parts) {
        const std::uint8_t* p = part.data();
        std::size_t left = part.size();
        while (left > 0) {
            std::size_t n;
            if (staged == 0 && left >= record) {
                n = record;
                if (int rc = sendRecord(p, n); rc < 0)
                    return fail(rc);
            } else {
                n = std::min(record - staged, left);
                std::memcpy(stage + staged, p, n);
                staged += n;
                if (staged == record) {
                    if (int rc = sendRecord(stage, staged); rc < 0)
                        return fail(rc);
                    staged = 0;
                }
            }
            p += n;
            left -= n;
        }
    }
    if (staged > 0)
        if (int rc = sendRecord(stage, staged); rc < 0)
            return fail(rc);
    if (gathering && impl.outUsed > 0 && !flushGathered(impl))
        return fail(GNUTLS_E_PUSH_ERROR);
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

namespace {

// A msgpack output stream over a fixed array, for the few bytes in front of
// a chunk's data.
struct FixedBuffer {
    std::array<char, 192> bytes{};
    std::size_t size = 0;
    void write(const char* p, std::size_t n) {
        assert(size + n <= bytes.size());
        std::memcpy(bytes.data() + size, p, n);
        size += n;
    }
};

} // namespace

std::expected<void, Error> Session::send(const wire::BlobChunk& chunk) {
    // Packs [type, chunk] with empty data (the map ends with "data" and an
    // empty bin, c4 00), then swaps that bin header for the real one: the
    // bytes up to the data are exactly what encodeMessage(chunk) produces.
    wire::BlobChunk head;
    head.version = chunk.version;
    head.digest = chunk.digest;
    head.offset = chunk.offset;
    head.total = chunk.total;
    FixedBuffer buf;
    buf.size = wire::kFrameHeader;
    msgpack::packer<FixedBuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(static_cast<std::uint16_t>(wire::BlobChunk::kType));
    pk.pack(head);
    assert(buf.size >= 2 && static_cast<std::uint8_t>(buf.bytes[buf.size - 2]) == 0xc4 &&
           buf.bytes[buf.size - 1] == 0);
    buf.size -= 2;
    pk.pack_bin(static_cast<std::uint32_t>(chunk.data.size()));
    const std::size_t payload = buf.size - wire::kFrameHeader + chunk.data.size();
    if (payload > impl_->limits.maxFrame)
        return std::unexpected(
            Error(Error::Code::kTooLarge,
                  "message of " + std::to_string(payload) + " bytes is over the frame cap"));
    auto* h = reinterpret_cast<std::uint8_t*>(buf.bytes.data());
    h[0] = static_cast<std::uint8_t>(payload >> 24);
    h[1] = static_cast<std::uint8_t>(payload >> 16);
    h[2] = static_cast<std::uint8_t>(payload >> 8);
    h[3] = static_cast<std::uint8_t>(payload);
    return writeParts({wire::ByteView(h, buf.size), wire::ByteView(chunk.data)});
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

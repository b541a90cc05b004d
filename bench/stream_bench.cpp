#include "bench/stream_bench.hpp"
#include "cli/options.hpp"

#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/credentials.hpp"
#include "net/dialer.hpp"
#include "net/listener.hpp"
#include "net/socket.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

namespace swarm::bench {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

template <typename T> T orThrow(std::expected<T, net::Error> r, const char* what) {
    if (!r)
        throw std::runtime_error(std::string(what) + ": " + net::describe(r.error()));
    return std::move(*r);
}

void orThrow(std::expected<void, net::Error> r, const char* what) {
    if (!r)
        throw std::runtime_error(std::string(what) + ": " + net::describe(r.error()));
}

/// The cipher's limit for one stream: the same bytes sealed and opened as
/// 16 KiB TLS records with AES-128-GCM (the suite our sessions negotiate),
/// in memory, no I/O. A stream seals on the sending side while the other
/// side opens, so its ceiling is the slower of the two; returns the seconds
/// for {seal all, open all}.
std::pair<double, double> cipherOnly(std::uint64_t total) {
    constexpr std::size_t kRecord = 16384, kTag = 16;
    std::array<std::uint8_t, 16> keyBytes{};
    gnutls_datum_t key{keyBytes.data(), static_cast<unsigned>(keyBytes.size())};
    gnutls_aead_cipher_hd_t h = nullptr;
    if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &key) < 0)
        throw std::runtime_error("AES-128-GCM is not available");
    std::vector<std::uint8_t> plain(kRecord, 0x5a), sealed(kRecord + kTag), opened(kRecord);
    std::array<std::uint8_t, 12> nonce{};
    const std::uint64_t records = (total + kRecord - 1) / kRecord;
    std::vector<std::vector<std::uint8_t>> kept; // a few sealed records to open
    auto start = Clock::now();
    for (std::uint64_t i = 0; i < records; ++i) {
        std::memcpy(nonce.data(), &i, sizeof i);
        std::size_t outLen = sealed.size();
        if (gnutls_aead_cipher_encrypt(h, nonce.data(), nonce.size(), nullptr, 0, kTag,
                                       plain.data(), plain.size(), sealed.data(), &outLen) < 0)
            throw std::runtime_error("seal failed");
        if (i < 64)
            kept.emplace_back(sealed.begin(), sealed.begin() + static_cast<long>(outLen));
    }
    double seal = secondsSince(start);
    start = Clock::now();
    for (std::uint64_t i = 0; i < records; ++i) {
        auto n = i % kept.size();
        std::memcpy(nonce.data(), &n, sizeof n);
        std::size_t outLen = opened.size();
        if (gnutls_aead_cipher_decrypt(h, nonce.data(), nonce.size(), nullptr, 0, kTag,
                                       kept[n].data(), kept[n].size(), opened.data(), &outLen) < 0)
            throw std::runtime_error("open failed");
    }
    double open = secondsSince(start);
    gnutls_aead_cipher_deinit(h);
    return {seal, open};
}

/// Emulates a link of a given speed on loopback (this kernel has no netem):
/// the sender sleeps so that its payload bytes never run ahead of the
/// link's rate. 0: no pacing.
class Pacer {
public:
    explicit Pacer(std::uint64_t bitsPerSecond) : bytesPerSecond_(bitsPerSecond / 8.0) {}
    void start() {
        start_ = Clock::now();
        sent_ = 0;
    }
    void sent(std::uint64_t bytes) {
        if (bytesPerSecond_ <= 0)
            return;
        sent_ += bytes;
        std::this_thread::sleep_until(
            start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         static_cast<double>(sent_) / bytesPerSecond_)));
    }

private:
    double bytesPerSecond_;
    Clock::time_point start_{};
    std::uint64_t sent_ = 0;
};

/// The floor: the same number of bytes, framed the same way, through a
/// plain TCP socket on loopback, memory to memory.
double plainTcp(std::uint64_t total, Pacer pacer) {
    base::UniqueFd listenFd = net::listenTcp("127.0.0.1", 0);
    net::Endpoint ep{"127.0.0.1", net::localPort(listenFd.get())};
    auto receiver = std::async(std::launch::async, [&]() {
        pollfd pfd{listenFd.get(), POLLIN, 0};
        ::poll(&pfd, 1, 5000);
        base::UniqueFd fd(
            ::accept4(listenFd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd)
            throw std::runtime_error("accept failed");
        auto deadline = Clock::now() + 120s;
        std::vector<std::uint8_t> buf(net::kBlobChunkSize + 4);
        std::uint64_t got = 0;
        while (got < total) {
            std::uint8_t header[4];
            orThrow(net::readAll(fd.get(), header, 4, deadline), "tcp read");
            std::size_t len = (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
                              (std::size_t{header[2]} << 8) | header[3];
            orThrow(net::readAll(fd.get(), buf.data(), len, deadline), "tcp read");
            got += len;
        }
        std::uint8_t ack = 1;
        orThrow(net::writeAll(fd.get(), &ack, 1, deadline), "tcp ack");
    });
    auto fd = orThrow(net::connectTcp(ep, Clock::now() + 5s), "tcp connect");
    std::vector<std::uint8_t> chunk(net::kBlobChunkSize + 4, 0x5a);
    auto start = Clock::now();
    auto deadline = start + 120s;
    std::uint64_t sent = 0;
    pacer.start();
    while (sent < total) {
        auto n =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(net::kBlobChunkSize, total - sent));
        chunk[0] = static_cast<std::uint8_t>(n >> 24);
        chunk[1] = static_cast<std::uint8_t>(n >> 16);
        chunk[2] = static_cast<std::uint8_t>(n >> 8);
        chunk[3] = static_cast<std::uint8_t>(n);
        orThrow(net::writeAll(fd.get(), chunk.data(), n + 4, deadline), "tcp write");
        sent += n;
        pacer.sent(n);
    }
    std::uint8_t ack = 0;
    orThrow(net::readAll(fd.get(), &ack, 1, deadline), "tcp ack");
    double s = secondsSince(start);
    receiver.get();
    return s;
}

struct Setup {
    wire::Identity serverId = wire::Identity::generate();
    wire::Identity clientId = wire::Identity::generate();
    net::Credentials serverCreds{serverId};
    net::Credentials clientCreds{clientId};
    test::TempDir dir{"swarm-bench"};
    wire::SystemClock clock;
    net::BlobStore source{dir.path() / "source", {.maxBytes = 1ull << 40, .fsync = false}, clock};
    net::BlobStore sink{dir.path() / "sink", {.maxBytes = 1ull << 40, .fsync = false}, clock};
    std::unique_ptr<net::Listener> listener;
    std::uint64_t streamBytes = 0;
    Pacer pacer{0}; // for the chunk frames of RequestWork

    Setup() {
        net::ListenerConfig config;
        config.maxConnections = 4;
        wire::TrustList serverTrust;
        (void)serverTrust.add(wire::PeerId(clientId.publicKey()), "client",
                              wire::PeerId(serverId.publicKey()));
        listener = std::make_unique<net::Listener>(
            serverCreds, config, net::allowList(serverTrust),
            [](const wire::PublicKey&, const wire::Hello&) -> std::expected<void, net::Error> {
                return {};
            },
            [this](net::Session& s, const wire::Hello&) { serve(s); });
    }

    // NeedBlobs: serve from the source store. RequestWork: stream
    // `streamBytes` of chunk frames from memory (TLS + framing, no disk).
    void serve(net::Session& s) {
        for (;;) {
            auto raw = s.receive(60s);
            if (!raw)
                return;
            if (raw->type == wire::MsgType::kNeedBlobs) {
                auto need = s.bodyOrBreak<wire::NeedBlobs>(*raw);
                if (!need || !net::serveBlobs(s, source, *need))
                    return;
            } else if (raw->type == wire::MsgType::kRequestWork) {
                wire::BlobChunk chunk;
                chunk.digest.fill(1); // a frame stream, not a blob: any digest but none
                chunk.total = streamBytes;
                chunk.data.assign(net::kBlobChunkSize, 0x5a);
                pacer.start();
                for (std::uint64_t off = 0; off < streamBytes; off += net::kBlobChunkSize) {
                    chunk.offset = off;
                    chunk.data.resize(
                        std::min<std::uint64_t>(net::kBlobChunkSize, streamBytes - off));
                    if (!s.send(chunk))
                        return;
                    pacer.sent(chunk.data.size());
                }
            } else {
                return;
            }
        }
    }

    std::unique_ptr<net::Session> dial() {
        wire::TrustList trust;
        (void)trust.add(wire::PeerId(serverId.publicKey()), "server",
                        wire::PeerId(clientId.publicKey()));
        net::Dialer dialer(clientCreds);
        return orThrow(dialer.dial({"127.0.0.1", listener->port()},
                                   net::allowListAndKey(trust, serverId.publicKey()),
                                   wire::Hello{}),
                       "dial");
    }
};

double tlsFrames(Setup& setup, net::Session& session, std::uint64_t total) {
    setup.streamBytes = total;
    auto start = Clock::now();
    orThrow(session.send(wire::RequestWork{}), "request");
    std::uint64_t got = 0;
    while (got < total) {
        auto raw = orThrow(session.receive(60s), "receive chunk");
        auto chunk = net::chunkView(raw);
        if (!chunk)
            throw std::runtime_error("chunk: " + chunk.error().what);
        got += chunk->data.size();
    }
    return secondsSince(start);
}

double tlsBlob(Setup& setup, net::Session& session, const wire::Digest& digest) {
    setup.sink.remove(digest);
    auto start = Clock::now();
    orThrow(net::fetchBlobs(session, setup.sink, std::vector{digest}), "fetch");
    return secondsSince(start);
}

struct Options {
    bool quick = false;
    std::uint64_t mib = 0;
    std::uint64_t runs = 0;
    // --only tcp|frames|blob|cipher: run one path alone (for profiling).
    std::string only;
    // --link MBIT: tcp and tls-frames pace their sender to a link of MBIT
    // Mbit/s (payload bytes); blob and cipher are not paced.
    std::uint64_t linkMbit = 0;
};

// The flags of `stream`, as given.
struct StreamFlags {
    bool quick = false;
    std::optional<std::uint64_t> sizeMib;
    std::optional<std::uint64_t> runs;
    std::string only;
    std::uint64_t linkMbit = 0;
};

void declareStreamFlags(CLI::App& app, StreamFlags& f) {
    app.add_flag("--quick", f.quick, "a short run: 32 MiB, 1 run");
    cli::addNumber(app, "--size", f.sizeMib, "bytes per run (default: 256; 32 with --quick)")
        ->type_name("MiB");
    cli::addNumber(app, "--runs", f.runs, "runs per path (default: 3; 1 with --quick)");
    app.add_option("--only", f.only, "run one path alone (for profiling)")
        ->type_name("tcp|frames|blob|cipher");
    cli::addNumber(app, "--link", f.linkMbit,
                   "pace the tcp and frames senders to a link of this many Mbit/s of payload "
                   "(0: unpaced)")
        ->type_name("MBIT");
}

Options optionsFrom(const StreamFlags& f) {
    Options o;
    o.quick = f.quick;
    o.mib = f.sizeMib.value_or(o.quick ? 32 : 256);
    o.runs = f.runs.value_or(o.quick ? 1 : 3);
    o.only = f.only;
    o.linkMbit = f.linkMbit;
    return o;
}

void checkOptions(const Options& o) {
    if (o.linkMbit > 0 && !o.only.empty() && o.only != "tcp" && o.only != "frames")
        throw cli::UsageError("--link paces tcp and frames only");
    if (!o.only.empty() && o.only != "tcp" && o.only != "frames" && o.only != "blob" &&
        o.only != "cipher")
        throw cli::UsageError("--only takes tcp, frames, blob or cipher");
    if (o.mib == 0 || o.runs == 0)
        throw cli::UsageError("--size and --runs must be positive");
}

// Whether a run measures `path`: a paced run measures tcp and frames only
// (or the one --only names).
bool selected(const Options& o, std::string_view path) {
    if (!o.only.empty())
        return o.only == path;
    return o.linkMbit == 0 || path == "tcp" || path == "frames";
}

// `total` bytes of incompressible content, generated fast, in the source
// store; their digest.
wire::Digest storeBlob(Setup& setup, std::uint64_t total) {
    wire::Bytes data(total);
    std::mt19937_64 rng(42);
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
        auto v = rng();
        std::memcpy(data.data() + i, &v, 8);
    }
    return orThrow(setup.source.put(data), "store blob");
}

constexpr int kHandshakes = 20;

// Milliseconds for a full TLS handshake + hello (mean of kHandshakes).
double handshakeMs(Setup& setup) {
    auto start = Clock::now();
    for (int i = 0; i < kHandshakes; ++i)
        setup.dial()->close();
    return secondsSince(start) * 1000.0 / kHandshakes;
}

// Best seconds of each path over the runs (1e9 for a path not measured).
struct Times {
    double tcp = 1e9, frames = 1e9, blob = 1e9, seal = 1e9, open = 1e9;
    double handshakeMs = 0;
};

Times measure(const Options& o, Setup& setup, const Pacer& pacer) {
    const std::uint64_t total = o.mib << 20;
    wire::Digest digest;
    if (selected(o, "blob"))
        digest = storeBlob(setup, total);
    Times t;
    t.handshakeMs = handshakeMs(setup);
    auto session = setup.dial();
    for (std::uint64_t r = 0; r < o.runs; ++r) {
        if (selected(o, "cipher")) {
            auto [seal, open] = cipherOnly(total);
            t.seal = std::min(t.seal, seal);
            t.open = std::min(t.open, open);
        }
        if (selected(o, "tcp"))
            t.tcp = std::min(t.tcp, plainTcp(total, pacer));
        if (selected(o, "frames"))
            t.frames = std::min(t.frames, tlsFrames(setup, *session, total));
        if (selected(o, "blob"))
            t.blob = std::min(t.blob, tlsBlob(setup, *session, digest));
    }
    return t;
}

// What one TLS stream could reach: the plain-TCP floor or the cipher,
// whichever is slower.
double ceiling(const Times& t) {
    return std::max(t.tcp, std::max(t.seal, t.open));
}

// Each side of a TLS stream does its socket work and its cipher work on
// one thread, one after the other: their times add up.
double serial(const Times& t) {
    return t.tcp + std::max(t.seal, t.open);
}

void printJson(const Options& o, const Times& t) {
    auto rate = [&](double s) { return static_cast<double>(o.mib) / s; };
    const double ceil = ceiling(t), ser = serial(t);
    fmt::print("{{\"bench\":\"stream\",\"mib\":{},\"runs\":{},\"tcp_mibps\":{:.0f},"
               "\"tls_frames_mibps\":{:.0f},\"tls_blob_mibps\":{:.0f},"
               "\"ratio_frames\":{:.3f},\"ratio_blob\":{:.3f},\"seal_mibps\":{:.0f},"
               "\"open_mibps\":{:.0f},\"ratio_frames_ceiling\":{:.3f},"
               "\"ratio_blob_ceiling\":{:.3f},\"serial_ceiling_mibps\":{:.0f},"
               "\"ratio_frames_serial\":{:.3f},\"handshake_ms\":{:.2f},\"link_mbit\":{}}}\n",
               o.mib, o.runs, rate(t.tcp), rate(t.frames), rate(t.blob), t.tcp / t.frames,
               t.tcp / t.blob, rate(t.seal), rate(t.open), ceil / t.frames, ceil / t.blob,
               rate(ser), ser / t.frames, t.handshakeMs, o.linkMbit);
}

void printText(const Options& o, const Times& t) {
    auto rate = [&](double s) { return static_cast<double>(o.mib) / s; };
    if (o.linkMbit > 0)
        fmt::print("swarm-bench stream: {} MiB over loopback paced to a {} Mbit/s link, best of {} "
                   "run(s)\n",
                   o.mib, o.linkMbit, o.runs);
    else
        fmt::print("swarm-bench stream: {} MiB over loopback, best of {} run(s)\n", o.mib, o.runs);
    fmt::print("  {:<44} {:>8} {:>9}\n", "path", "seconds", "MiB/s");
    auto row = [&](const char* path, const char* label, double s) {
        if (selected(o, path))
            fmt::print("  {:<44} {:>8.3f} {:>9.0f}\n", label, s, rate(s));
    };
    row("tcp", "tcp        plain socket, memory to memory", t.tcp);
    row("frames", "tls-frames TLS session, chunk frames, memory", t.frames);
    row("blob", "tls-blob   fetchBlobs: file, SHA-256, cache", t.blob);
    row("cipher", "seal       AES-128-GCM 16 KiB records, memory", t.seal);
    row("cipher", "open       AES-128-GCM 16 KiB records, memory", t.open);
    if (o.linkMbit > 0 && o.only.empty()) {
        fmt::print("  ratio tls-frames/tcp {:.2f} on a {} Mbit/s link\n", t.tcp / t.frames,
                   o.linkMbit);
        return;
    }
    if (!o.only.empty())
        return;
    const double ceil = ceiling(t), ser = serial(t);
    fmt::print("  ratio tls-frames/tcp {:.2f}, tls-blob/tcp {:.2f}\n", t.tcp / t.frames,
               t.tcp / t.blob);
    fmt::print("  ratio tls-frames/ceiling {:.2f}, tls-blob/ceiling {:.2f} (ceiling = slower of "
               "tcp, seal, open: {:.0f} MiB/s)\n",
               ceil / t.frames, ceil / t.blob, rate(ceil));
    fmt::print("  ratio tls-frames/serial ceiling {:.2f} (tcp and seal times added, as one side "
               "of a TLS stream does them: {:.0f} MiB/s)\n",
               ser / t.frames, rate(ser));
    fmt::print("  full TLS handshake + hello: {:.2f} ms (mean of {})\n", t.handshakeMs,
               kHandshakes);
}

int runStream(const StreamFlags& flags, const cli::Globals& globals) {
    const Options o = optionsFrom(flags);
    checkOptions(o);
    Setup setup;
    const Pacer pacer(o.linkMbit * 1'000'000);
    setup.pacer = pacer;
    const Times t = measure(o, setup, pacer);
    if (globals.json)
        printJson(o, t);
    else
        printText(o, t);
    return 0;
}

} // namespace

cli::Command streamCommand() {
    return {"stream", "TLS blob throughput vs plain TCP on loopback",
            [](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<StreamFlags>();
                declareStreamFlags(app, *flags);
                return [flags](const cli::Globals& g) { return runStream(*flags, g); };
            }};
}

} // namespace swarm::bench

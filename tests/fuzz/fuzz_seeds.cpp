// Writes the fuzzers' seed corpora: for each stream message type a few
// valid, realistic bodies in DIR/<type>/ (the input of fuzz_msg_<type>),
// and the same messages framed, one per file and as a whole session, in
// DIR/wire/ (for fuzz_wire). Every seed is checked first: it must be
// accepted by the judge and round-trip, or this program fails.
//
// Usage: fuzz_seeds DIR

#include "message_types.hpp"

#include "wire/codec.hpp"
#include "wire/digest.hpp"
#include "wire/identity.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"

#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using namespace swarm::wire;

namespace {

RawDigest digestOf(std::string_view content) {
    return sha256(asBytes(content)).bytes;
}

FileRef fileOf(std::string name, std::string_view content) {
    return FileRef{std::move(name), digestOf(content), content.size()};
}

Bytes bytesOf(std::string_view text) {
    auto view = asBytes(text);
    return Bytes(view.begin(), view.end());
}

/// A text past `bytes` with multi-byte characters, a control character and
/// a broken sequence: the judge accepts it and cleans and cuts it, so these
/// seeds start the fuzzer on that path.
std::string longText(std::string_view head, std::size_t bytes) {
    std::string text(head);
    while (text.size() < bytes)
        text += " d\xc3\xa9j\xc3\xa0 vu \xe2\x80\x94 \xf0\x9f\x90\x9d\x01\t";
    text += "\xe2\x80 end";
    return text;
}

constexpr std::int64_t kNowMs = 1'700'000'000'000;
constexpr std::string_view kInputA = "the quick brown fox jumps over the lazy dog\n";
constexpr std::string_view kInputB = "lorem ipsum dolor sit amet\nconsectetur adipiscing elit\n";

class SeedWriter {
public:
    explicit SeedWriter(fs::path dir) : dir_(std::move(dir)) {}

    /// Checks `msg` and writes its body to DIR/<type>/<name> and its frame
    /// to DIR/wire/<type>_<name>; the frame is also appended to the session.
    template <typename T> void add(const std::string& name, const T& msg) {
        const Bytes payload = encodeMessage(msg);
        if (auto ok = swarm::fuzz::judgeRoundTrip<T>(payload); !ok)
            throw std::runtime_error(std::string(msgTypeName(T::kType)) + " seed '" + name +
                                     "' is refused: " + ok.error().what);
        const std::string type = swarm::fuzz::targetName(T::kType);
        write(dir_ / type / name, pack(msg));
        const Bytes frame = encodeFrame(payload);
        write(dir_ / "wire" / (type + "_" + name), frame);
        session_.insert(session_.end(), frame.begin(), frame.end());
        ++count_;
    }

    /// Writes every frame added so far, in order, as one stream.
    void finishSession() { write(dir_ / "wire" / "session", session_); }

    int count() const noexcept { return count_; }

private:
    static void write(const fs::path& path, const Bytes& bytes) {
        fs::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out)
            throw std::runtime_error("cannot write " + path.string());
    }

    fs::path dir_;
    Bytes session_;
    int count_ = 0;
};

void addHellos(SeedWriter& w) {
    Hello h;
    h.version = Hello::kWithNoWork;
    for (std::size_t i = 0; i < h.token.size(); ++i)
        h.token[i] = static_cast<std::uint8_t>(0xa5 ^ (i * 37));
    h.software = "swarm-worker/0.1.0";
    h.slots = 4;
    w.add("v2", h);

    Hello old;
    old.token.fill(0x11);
    old.software = "swarm-worker/0.0.9 (debian 12)";
    old.slots = 1;
    w.add("v1", old);

    Hello chatty = h;
    chatty.software = longText("swarm-worker/0.1.0", 140);
    w.add("long_software", chatty);
}

void addRequests(SeedWriter& w) {
    w.add("one", RequestWork{.slots = 1});
    w.add("several", RequestWork{.slots = 8});
}

void addAssigns(SeedWriter& w) {
    Assign a;
    a.unitId = "a.txt";
    a.replica = 1;
    a.image = "localhost/swarm-test:1";
    a.command = {"sh", "-c", "wc -w < in/a.txt > out/count"};
    a.env = {{"LANG", "C"}, {"OMP_NUM_THREADS", "1"}};
    a.inputs = {fileOf("a.txt", kInputA)};
    a.outputs = {"out/count"};
    a.timeoutMs = 5 * 60'000;
    a.memoryBytes = 512ull << 20;
    a.cpus = 1;
    a.pids = 128;
    a.leaseExpiresMs = kNowMs + 11 * 60'000;
    w.add("image", a);

    Assign b;
    b.unitId = "pair-1";
    b.replica = 0;
    b.imageArchive = digestOf("an image archive saved with podman save");
    b.command = {"/usr/local/bin/tool", "--in",  "in/a.txt", "--in",
                 "in/second.txt",       "--out", "out/"};
    b.env = {{"TOOL_MODE", "fast"}, {"_PRIVATE", ""}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    b.inputs = {fileOf("a.txt", kInputA), fileOf("second.txt", kInputB),
                fileOf("sub/dir/empty.dat", "")};
    b.outputs = {"out/result.json", "out/plots", "out/log.txt"};
    b.timeoutMs = 2 * 3'600'000;
    b.memoryBytes = 4ull << 30;
    b.cpus = 2.5;
    b.pids = 256;
    b.leaseExpiresMs = kNowMs + 4 * 3'600'000 + 60'000;
    w.add("archive", b);

    Assign c;
    c.unitId = "job_7.part-003";
    c.replica = 4;
    c.image = "registry.example.org:5000/team/render@sha256:"
              "3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a";
    c.command = {"render", "--frames=1-24"};
    c.outputs = {"out"};
    c.timeoutMs = 500;
    c.leaseExpiresMs = kNowMs + 61'000;
    w.add("defaults", c);
}

void addNeedBlobs(SeedWriter& w) {
    w.add("one", NeedBlobs{.digests = {digestOf(kInputA)}});
    w.add("several", NeedBlobs{.digests = {digestOf(kInputA), digestOf(kInputB), digestOf(""),
                                           digestOf("an image archive saved with podman save")}});
}

void addChunks(SeedWriter& w) {
    w.add("whole", BlobChunk{.digest = digestOf(kInputA),
                             .offset = 0,
                             .total = kInputA.size(),
                             .data = bytesOf(kInputA)});
    w.add("empty", BlobChunk{.digest = digestOf(""), .offset = 0, .total = 0, .data = {}});

    // The second chunk of a 600000-byte blob; only 512 bytes of it, to keep
    // the seed small.
    Bytes middle(512);
    for (std::size_t i = 0; i < middle.size(); ++i)
        middle[i] = static_cast<std::uint8_t>(i * 7 + 3);
    w.add("middle", BlobChunk{.digest = digestOf("a bigger blob"),
                              .offset = 256 * 1024,
                              .total = 600'000,
                              .data = std::move(middle)});
}

void addProgress(SeedWriter& w) {
    w.add("fetching", Progress{.unitId = "a.txt", .replica = 1, .state = "fetching"});
    w.add("running",
          Progress{.unitId = "pair-1", .replica = 0, .state = "running", .elapsedMs = 12'345});
    w.add("uploading", Progress{.unitId = "job_7.part-003",
                                .replica = 4,
                                .state = "uploading",
                                .elapsedMs = 3'600'000});
}

void addResults(SeedWriter& w) {
    Result ok;
    ok.unitId = "a.txt";
    ok.replica = 1;
    ok.exitCode = 0;
    ok.wallMs = 1'234;
    ok.outputs = {fileOf("stdout", "9\n"), fileOf("stderr", ""), fileOf("out/count", "9\n"),
                  fileOf("out/x", "x marks the spot\n"), fileOf("out/plots/fig 1.svg", "<svg/>")};
    w.add("ok", ok);

    Result failed;
    failed.unitId = "pair-1";
    failed.exitCode = 2;
    failed.wallMs = 87;
    failed.outputs = {fileOf("stdout", ""),
                      fileOf("stderr", "tool: in/second.txt: line 2: unexpected token\n")};
    w.add("exit2", failed);

    Result timedOut;
    timedOut.unitId = "job_7.part-003";
    timedOut.replica = 4;
    timedOut.exitCode = 137;
    timedOut.timedOut = true;
    timedOut.wallMs = 500;
    timedOut.outputs = {fileOf("stdout", "partial\n"), fileOf("stderr", "")};
    timedOut.error = "timed out";
    w.add("timed_out", timedOut);

    Result flood = failed;
    flood.replica = 6;
    flood.stdoutTruncated = true;
    flood.stderrTruncated = true;
    w.add("logs_truncated", flood);

    Result oom;
    oom.unitId = "pair-1";
    oom.replica = 2;
    oom.exitCode = 137;
    oom.oomKilled = true;
    oom.wallMs = 40'000;
    oom.outputs = {fileOf("stdout", ""), fileOf("stderr", "Killed\n")};
    oom.error = "killed: out of memory";
    w.add("oom", oom);

    Result cancelled;
    cancelled.unitId = "a.txt";
    cancelled.replica = 3;
    cancelled.error = "cancelled by the submitter";
    w.add("cancelled", cancelled);

    Result broken = cancelled;
    broken.replica = 5;
    broken.error = longText("sandbox failure: podman said:", 4200);
    w.add("long_error", broken);

    Result givenBack;
    givenBack.unitId = "count-1";
    givenBack.replica = 0;
    givenBack.givenBack = true;
    givenBack.wallMs = 9'000;
    givenBack.outputs = {fileOf("ckpt/count", "10\n")};
    w.add("given_back", givenBack);
}

void addCancels(SeedWriter& w) {
    w.add("lease", Cancel{.unitId = "a.txt", .replica = 1, .reason = "lease expired"});
    w.add("not_needed", Cancel{.unitId = "pair-1", .replica = 0, .reason = "not needed"});
}

void addByes(SeedWriter& w) {
    w.add("worker", Bye{.reason = "worker stopping (SIGTERM)",
                        .givenBack = {"a.txt/1", "pair-1/0", "job_7.part-003/4"}});
    w.add("submitter", Bye{.reason = "job finished"});
    w.add("long_reason", Bye{.reason = longText("stopping:", 1100), .givenBack = {"a.txt/2"}});
}

void addErrors(SeedWriter& w) {
    w.add("not_found", ErrorMsg{.code = 404, .message = Digest{digestOf(kInputB)}.str()});
    w.add("conflict", ErrorMsg{.code = 409, .message = "already connected"});
    w.add("untrusted", ErrorMsg{.code = 8, .message = "token was offered to another worker"});
    w.add("long", ErrorMsg{.code = 500, .message = longText("internal error:", 4200)});
}

void addNoWork(SeedWriter& w) {
    w.add("one", NoWork{.slots = 1});
    w.add("several", NoWork{.slots = 3});
}

void addFollows(SeedWriter& w) {
    w.add("on", Follow{.unitId = "u0001", .replica = 1, .on = true});
    w.add("off", Follow{.unitId = "u0001", .replica = 1, .on = false});
    const std::string line = "line 1\n";
    w.add("stdout", LogChunk{.unitId = "u0001",
                             .replica = 1,
                             .stream = "stdout",
                             .offset = 0,
                             .data = Bytes(line.begin(), line.end())});
    w.add("stderr-truncated", LogChunk{.unitId = "u0001",
                                       .replica = 1,
                                       .stream = "stderr",
                                       .offset = 1 << 20,
                                       .truncated = true});
    w.add("end", LogChunk{.unitId = "u0001", .replica = 1, .stream = "stdout", .end = true});
}

void addWorkReady(SeedWriter& w) {
    w.add("plain", WorkReady{});
}

// The relay's messages: a reservation, both sides of a circuit, its data.
void addRelay(SeedWriter& w) {
    const std::string peer = PeerId(Identity::generate().publicKey()).str();
    w.add("plain", RelayReserve{});
    w.add("v4", RelayReserved{.ttlMs = 45'000, .observed = "203.0.113.10:40000"});
    w.add("v6", RelayReserved{.ttlMs = 45'000, .observed = "[2001:db8::10]:40000"});
    w.add("target", RelayConnect{.target = peer});
    RelayIncoming incoming{.from = peer, .fromObserved = "198.51.100.20:5555"};
    incoming.circuit.fill(7);
    w.add("from", incoming);
    RelayAccept accept;
    accept.circuit.fill(7);
    w.add("circuit", accept);
    w.add("limits", RelayOpened{.peerObserved = "203.0.113.11:6000",
                                .maxBytes = 1 << 30,
                                .maxDurationMs = 3'600'000,
                                .observed = "198.51.100.20:5555"});
    w.add("empty", RelayData{});
    w.add("bytes", RelayData{.data = Bytes{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5}});
    w.add("ready", PunchPlan{.ready = true});
    w.add("not-ready", PunchPlan{});
    w.add("connected", PunchResult{.connected = true});
    w.add("failed", PunchResult{});
}

} // namespace

int main(int argc, char** argv) try {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    if (sodium_init() < 0) {
        std::fprintf(stderr, "fuzz_seeds: libsodium failed to initialise\n");
        return 1;
    }
    SeedWriter w{fs::path(argv[1])};
    // Roughly a session's order, so DIR/wire/session reads like one.
    addHellos(w);
    addRequests(w);
    addAssigns(w);
    addNeedBlobs(w);
    addChunks(w);
    addProgress(w);
    addResults(w);
    addNoWork(w);
    addWorkReady(w);
    addCancels(w);
    addErrors(w);
    addByes(w);
    addRelay(w);
    addFollows(w);
    w.finishSession();
    std::printf("fuzz_seeds: %d messages of %d types, as bodies and frames, in %s\n", w.count(),
                swarm::fuzz::kMessageTypes, argv[1]);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
}

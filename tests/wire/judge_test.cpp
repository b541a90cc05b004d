// The judge, field by field: each row spoils one field of a valid message
// and expects a refusal that names that field. The same table drives the
// hostile-peer suite against real processes (tests/hostile/).

#include "wire/identity.hpp"
#include "wire/judge.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <limits>

using namespace swarm::wire;
namespace bdata = boost::unit_test::data;

namespace {

Assign validAssign() {
    Assign a;
    a.unitId = "u-001";
    a.replica = 1;
    a.image = "localhost/swarm-test:latest";
    a.command = {"sh", "-c", "wc -w < in.txt > out/words"};
    a.env = {{"LANG", "C"}};
    a.inputs = {FileRef{"in.txt", RawDigest{1}, 5}};
    a.outputs = {"out/words"};
    a.timeoutMs = 60'000;
    a.memoryBytes = 64 << 20;
    a.cpus = 0.5;
    a.pids = 64;
    a.leaseExpiresMs = 1'700'000'000'000;
    return a;
}

Result validResult() {
    Result r;
    r.unitId = "u-001";
    r.replica = 1;
    r.exitCode = 0;
    r.wallMs = 120;
    r.outputs = {FileRef{"stdout", RawDigest{}, 0}, FileRef{"stderr", RawDigest{}, 0},
                 FileRef{"out/words", RawDigest{2}, 2}};
    return r;
}

// Judges `msg` the way a receiver does: encoded, decoded, bodyAs.
template <typename T> std::expected<T, Error> received(const T& msg) {
    UnpackLimits wide{.array = 200'000, .map = 200'000, .str = 32 << 20, .bin = 32 << 20};
    auto raw = decodeMessage(encodeMessage(msg), wide);
    if (!raw)
        return std::unexpected(raw.error());
    return bodyAs<T>(*raw);
}

struct AssignRow {
    const char* name;
    std::function<void(Assign&)> spoil;
    const char* field; ///< the reason starts with this
};

std::ostream& operator<<(std::ostream& out, const AssignRow& row) {
    return out << row.name;
}

const std::vector<AssignRow> kAssignRows = {
    {"dot-dot unit id", [](Assign& a) { a.unitId = "../../../../../../../tmp/planted"; },
     "assign.unitId: '../../"},
    {"absolute unit id", [](Assign& a) { a.unitId = "/etc/planted"; }, "assign.unitId"},
    {"slash in unit id", [](Assign& a) { a.unitId = "a/b"; }, "assign.unitId"},
    {"NUL in unit id", [](Assign& a) { a.unitId = std::string("a\0b", 3); }, "assign.unitId"},
    {"control byte in unit id", [](Assign& a) { a.unitId = "a\nb"; }, "assign.unitId"},
    {"empty unit id", [](Assign& a) { a.unitId = ""; }, "assign.unitId"},
    {"long unit id", [](Assign& a) { a.unitId = std::string(129, 'a'); }, "assign.unitId"},
    {"invalid UTF-8 unit id", [](Assign& a) { a.unitId = "\xff\xfe"; }, "assign.unitId"},
    {"huge replica", [](Assign& a) { a.replica = 4'000'000'000u; }, "assign.replica"},
    {"no image", [](Assign& a) { a.image = ""; }, "assign.image"},
    {"image with space", [](Assign& a) { a.image = "localhost/x y"; }, "assign.image"},
    {"image and archive", [](Assign& a) { a.imageArchive = RawDigest{9}; }, "assign.image"},
    {"upper-case image", [](Assign& a) { a.image = "localhost/Evil"; }, "assign.image"},
    {"image option", [](Assign& a) { a.image = "--privileged"; }, "assign.image"},
    {"bare image id",
     [](Assign& a) {
         a.image = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
     },
     "assign.image"},
    {"NUL in argv", [](Assign& a) { a.command.push_back(std::string("x\0y", 3)); },
     "assign.command[3]"},
    {"too many args", [](Assign& a) { a.command.assign(5000, "x"); }, "assign.command"},
    {"10 MiB arg", [](Assign& a) { a.command.push_back(std::string(10 << 20, 'x')); },
     "assign.command"},
    {"bad env name", [](Assign& a) { a.env["A=B"] = "x"; }, "assign.env"},
    {"NUL in env value", [](Assign& a) { a.env["X"] = std::string("a\0b", 3); }, "assign.env.X"},
    {"100000 env entries",
     [](Assign& a) {
         for (int i = 0; i < 100'000; ++i)
             a.env["V" + std::to_string(i)] = "x";
     },
     "assign.env"},
    {"dot-dot input", [](Assign& a) { a.inputs[0].name = "../../etc/passwd"; },
     "assign.inputs[0].name"},
    {"absolute input", [](Assign& a) { a.inputs[0].name = "/etc/passwd"; },
     "assign.inputs[0].name"},
    {"input twice", [](Assign& a) { a.inputs.push_back(a.inputs[0]); }, "assign.inputs[1].name"},
    {"input below an input",
     [](Assign& a) {
         a.inputs.push_back(a.inputs[0]);
         a.inputs[1].name = a.inputs[0].name + "/x";
     },
     "assign.inputs[1].name"},
    {"zero input digest", [](Assign& a) { a.inputs[0].digest = {}; }, "assign.inputs[0].digest"},
    {"huge input", [](Assign& a) { a.inputs[0].size = 1ull << 62; }, "assign.inputs[0].size"},
    {"too many inputs",
     [](Assign& a) {
         for (int i = 0; i < 2000; ++i)
             a.inputs.push_back(FileRef{"f" + std::to_string(i), RawDigest{1}, 1});
     },
     "assign.inputs"},
    {"dot-dot output", [](Assign& a) { a.outputs = {"out/../../x"}; }, "assign.outputs[0]"},
    {"absolute output", [](Assign& a) { a.outputs = {"/root"}; }, "assign.outputs[0]"},
    {"negative timeout", [](Assign& a) { a.timeoutMs = -1; }, "assign.timeoutMs"},
    {"2^63 timeout", [](Assign& a) { a.timeoutMs = std::numeric_limits<std::int64_t>::max(); },
     "assign.timeoutMs"},
    {"2^63 memory", [](Assign& a) { a.memoryBytes = 1ull << 63; }, "assign.memoryBytes"},
    {"1 byte memory", [](Assign& a) { a.memoryBytes = 1; }, "assign.memoryBytes"},
    {"NaN cpus", [](Assign& a) { a.cpus = std::nan(""); }, "assign.cpus"},
    {"negative cpus", [](Assign& a) { a.cpus = -1; }, "assign.cpus"},
    {"infinite cpus", [](Assign& a) { a.cpus = INFINITY; }, "assign.cpus"},
    {"huge pids", [](Assign& a) { a.pids = 4'000'000'000u; }, "assign.pids"},
    {"one pid", [](Assign& a) { a.pids = 1; }, "assign.pids"},
    {"2 MiB memory", [](Assign& a) { a.memoryBytes = 2 << 20; }, "assign.memoryBytes"},
    {"201-byte input name", [](Assign& a) { a.inputs[0].name = std::string(201, 'i'); },
     "assign.inputs[0].name"},
    {"bare hex image id", [](Assign& a) { a.image = "3f4a5b6c7d8e"; }, "assign.image"},
    {"negative lease", [](Assign& a) { a.leaseExpiresMs = -5; }, "assign.leaseExpiresMs"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(judge_rules)

BOOST_AUTO_TEST_CASE(valid_messages_pass) {
    BOOST_TEST(received(validAssign()).has_value());
    BOOST_TEST(received(validResult()).has_value());
    Assign shipped = validAssign();
    shipped.image.clear();
    shipped.imageArchive = RawDigest{7};
    BOOST_TEST(received(shipped).has_value());
    Assign defaults = validAssign();
    defaults.timeoutMs = defaults.memoryBytes = defaults.pids = 0;
    defaults.cpus = 0;
    defaults.outputs = {"out/dir/"};
    BOOST_TEST(received(defaults).has_value());
}

BOOST_DATA_TEST_CASE(a_spoiled_assign_is_refused_naming_the_field, bdata::make(kAssignRows), row) {
    Assign a = validAssign();
    row.spoil(a);
    auto got = received(a);
    BOOST_REQUIRE(!got.has_value());
    BOOST_TEST((got.error().code == Error::Code::kRefused));
    BOOST_TEST(got.error().what.starts_with(row.field), got.error().what);
    // The reason quotes the value only as a short, printable excerpt.
    BOOST_TEST(got.error().what.size() < 300u);
    for (char c : got.error().what)
        BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 || c == '\t'));
}

BOOST_AUTO_TEST_CASE(a_refused_assign_still_names_its_unit_when_the_unit_is_fine) {
    Assign a = validAssign();
    a.inputs[0].name = "../x";
    auto raw = decodeMessage(encodeMessage(a));
    BOOST_REQUIRE(raw);
    BOOST_TEST(!bodyAs<Assign>(*raw).has_value());
    auto key = unitKeyOf(*raw);
    BOOST_REQUIRE(key.has_value());
    BOOST_TEST(key->unitId == "u-001");
    BOOST_TEST(key->replica == 1u);
    a.unitId = "../x";
    raw = decodeMessage(encodeMessage(a));
    BOOST_REQUIRE(raw);
    BOOST_TEST(!unitKeyOf(*raw).has_value());
}

BOOST_AUTO_TEST_CASE(image_references) {
    for (const char* ok :
         {"alpine", "localhost/swarm-test:latest", "docker.io/library/alpine:3.19",
          "registry.example:5000/a/b-c_d.e:v1.2",
          "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
        BOOST_TEST(isImageReference(ok), ok);
    for (const char* bad : {"", "-x", "a b", "A/b", "a//b", "a:", "a:-x", "a@sha256:12", "/a", "a/",
                            "sha256:xyz", "a\nb", "../a"})
        BOOST_TEST(!isImageReference(bad), bad);
    BOOST_TEST(!isImageReference(std::string(300, 'a')));
}

BOOST_AUTO_TEST_CASE(a_spoiled_result_is_refused_naming_the_field) {
    auto refused = [](std::function<void(Result&)> spoil, const std::string& field) {
        Result r = validResult();
        spoil(r);
        auto got = received(r);
        BOOST_REQUIRE(!got.has_value());
        BOOST_TEST(got.error().what.starts_with(field), got.error().what);
    };
    refused([](Result& r) { r.unitId = "../../x"; }, "result.unitId");
    refused([](Result& r) { r.replica = 1u << 20; }, "result.replica");
    refused([](Result& r) { r.exitCode = 1 << 30; }, "result.exitCode");
    refused([](Result& r) { r.exitCode = -9; }, "result.exitCode");
    refused([](Result& r) { r.wallMs = -1; }, "result.wallMs");
    refused([](Result& r) { r.outputs[2].name = "out/../../../etc/cron.d/x"; },
            "result.outputs[2].name");
    refused([](Result& r) { r.outputs[2].name = "/etc/passwd"; }, "result.outputs[2].name");
    refused([](Result& r) { r.outputs[2].name = "secret"; }, "result.outputs[2].name");
    refused([](Result& r) { r.outputs.push_back(r.outputs[0]); }, "result.outputs[3].name");
    refused([](Result& r) { r.outputs[2].size = ~0ull; }, "result.outputs[2].size");
}

Result validGiveBack() {
    Result r;
    r.unitId = "u-001";
    r.replica = 1;
    r.givenBack = true;
    r.wallMs = 500;
    r.outputs = {FileRef{"ckpt/count", RawDigest{3}, 2}, FileRef{"ckpt/d/state", RawDigest{4}, 9}};
    return r;
}

BOOST_AUTO_TEST_CASE(a_give_back_carries_only_its_checkpoint) {
    BOOST_TEST(received(validGiveBack()).has_value());
    auto bare = validGiveBack();
    bare.outputs.clear();
    bare.error = "checkpoint over the cap";
    BOOST_TEST(received(bare).has_value());
    auto refused = [](std::function<void(Result&)> spoil, const std::string& field) {
        Result r = validGiveBack();
        spoil(r);
        auto got = received(r);
        BOOST_REQUIRE(!got.has_value());
        BOOST_TEST(got.error().what.starts_with(field), got.error().what);
    };
    // No exit code, no sandbox verdict, no refusal: it is no result.
    refused([](Result& r) { r.exitCode = 0; }, "result.givenBack");
    refused([](Result& r) { r.timedOut = true; }, "result.givenBack");
    refused([](Result& r) { r.oomKilled = true; }, "result.givenBack");
    refused([](Result& r) { r.refused = true; }, "result.givenBack");
    // Only checkpoint files: outputs of a give-back could never vote.
    refused([](Result& r) { r.outputs[0].name = "out/words"; }, "result.outputs[0].name");
    refused([](Result& r) { r.outputs[1].name = "stdout"; }, "result.outputs[1].name");
    refused([](Result& r) { r.outputs[0].name = "ckpt/../../etc/x"; }, "result.outputs[0].name");
    refused([](Result& r) { r.outputs[0].name = "ckpt/" + std::string(250, 'a'); },
            "result.outputs[0].name");
    // A file named as the directory of another could not be written as an
    // input of the next replica, on any worker.
    refused([](Result& r) { r.outputs[0].name = "ckpt/d"; }, "result.outputs[1].name");
    // ... and a real result never carries a checkpoint.
    auto real = validResult();
    real.outputs[2].name = "ckpt/count";
    auto got = received(real);
    BOOST_REQUIRE(!got.has_value());
    BOOST_TEST(got.error().what.starts_with("result.outputs[2].name"), got.error().what);
}

// A Result as workers sent it before `refused` existed.
struct ResultBeforeRefused {
    static constexpr MsgType kType = MsgType::kResult;
    std::uint32_t version = 1;
    std::string unitId = "u-001";
    std::uint32_t replica = 0;
    std::int32_t exitCode = -1;
    bool timedOut = false;
    bool oomKilled = false;
    std::int64_t wallMs = 0;
    std::vector<FileRef> outputs;
    std::string error = "image not allowed";
    MSGPACK_DEFINE_MAP(version, unitId, replica, exitCode, timedOut, oomKilled, wallMs, outputs,
                       error)
};

BOOST_AUTO_TEST_CASE(a_refusal_names_its_reason_and_carries_no_outputs) {
    Result r;
    r.unitId = "u-001";
    r.error = "image 'x' is not allowed";
    r.refused = true;
    auto ok = received(r);
    BOOST_REQUIRE(ok.has_value());
    BOOST_TEST(ok->refused);

    Result withOutputs = validResult();
    withOutputs.refused = true;
    withOutputs.error = "no";
    auto bad = received(withOutputs);
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().what.starts_with("result.refused"), bad.error().what);

    Result noReason = r;
    noReason.error.clear();
    bad = received(noReason);
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().what.starts_with("result.refused"), bad.error().what);
}

BOOST_AUTO_TEST_CASE(a_result_from_an_older_worker_is_no_refusal) {
    auto raw = decodeMessage(encodeMessage(ResultBeforeRefused{}));
    BOOST_REQUIRE(raw.has_value());
    auto r = bodyAs<Result>(*raw);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(!r->refused);
    BOOST_TEST(r->error == "image not allowed");
}

BOOST_AUTO_TEST_CASE(texts_are_cleaned_not_refused) {
    Result r = validResult();
    r.error = std::string("bad\xff\xfe bytes\x1b[31m and \0 nul", 27) + std::string(10'000, 'x');
    auto got = received(r);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(got->error.size() <= limits::kErrorBytes);
    BOOST_TEST(got->error.starts_with("bad\xEF\xBF\xBD\xEF\xBF\xBD bytes\xEF\xBF\xBD[31m"));
    BOOST_TEST(got->error.ends_with("\xE2\x80\xA6"));
    Bye bye{.reason = "\xc0\xaf ok"};
    auto b = received(bye);
    BOOST_REQUIRE(b.has_value());
    BOOST_TEST(b->reason == "\xEF\xBF\xBD\xEF\xBF\xBD ok");
    std::string accents = "caf\xc3\xa9";
    cleanText(accents, 100);
    BOOST_TEST(accents == "caf\xc3\xa9");
    // Ill-formed UTF-8 and C1 controls: each offending byte one U+FFFD.
    for (std::string bad : {"\xe0\x80\xaf", "\xed\xa0\x80", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80",
                            "\xf5\x80\x80\x80", "\xc2\x9b"}) {
        std::string t = bad;
        cleanText(t, 100);
        BOOST_TEST(t.find_first_not_of("\xEF\xBF\xBD") == std::string::npos, bad);
        BOOST_TEST(!t.empty());
    }
    std::string fine = "\xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf \xc2\xa0";
    std::string same = fine;
    cleanText(same, 100);
    BOOST_TEST(same == fine);
    std::string tiny = "abcdef";
    cleanText(tiny, 2);
    BOOST_TEST(tiny == "ab");
    std::string cut = "\xc3\xa9\xc3\xa9\xc3\xa9";
    cleanText(cut, 5);
    BOOST_TEST(cut == "\xc3\xa9\xE2\x80\xA6");
}

BOOST_AUTO_TEST_CASE(other_messages) {
    BOOST_TEST(!received(RequestWork{.slots = 0}).has_value());
    BOOST_TEST(!received(RequestWork{.slots = 1u << 30}).has_value());
    BOOST_TEST(!received(NoWork{.slots = 5000}).has_value());
    BOOST_TEST(!received(NeedBlobs{}).has_value());
    BOOST_TEST(!received(NeedBlobs{.digests = {RawDigest{}}}).has_value());
    BOOST_TEST(!received(BlobChunk{.digest = {1}, .offset = 10, .total = 5}).has_value());
    BOOST_TEST(!received(BlobChunk{.digest = {1}, .offset = 0, .total = 2, .data = Bytes(3, 0)})
                    .has_value());
    BOOST_TEST(!received(BlobChunk{.digest = {1}, .total = ~0ull}).has_value());
    BOOST_TEST(!received(Cancel{.unitId = "../x"}).has_value());
    BOOST_TEST(!received(Progress{.unitId = "u", .state = "pwned"}).has_value());
    // Every state a worker reports, "suspended" while the volunteer holds its units.
    for (const char* state : {"fetching", "running", "uploading", "suspended"})
        BOOST_TEST(received(Progress{.unitId = "u", .state = state}).has_value(), state);
    BOOST_TEST(!received(Bye{.givenBack = {"../x/0"}}).has_value());
    BOOST_TEST(!received(Bye{.givenBack = {"u/99999999999"}}).has_value());
    BOOST_TEST(!received(Bye{.givenBack = {"u"}}).has_value());
    BOOST_TEST(received(Bye{.givenBack = {"u/0", "v.1/12"}}).has_value());
    BOOST_TEST(!received(Hello{.slots = 100'000}).has_value());
}

// Follow and log-chunk: the unit named as in assign; a chunk's stream is one
// of two, its data bounded, its offset within a blob's range.
BOOST_AUTO_TEST_CASE(follow_and_log_chunks) {
    BOOST_TEST(received(Follow{.unitId = "u-001", .replica = 1}).has_value());
    BOOST_TEST(received(Follow{.unitId = "u-001", .on = false}).has_value());
    auto follow = received(Follow{.unitId = "../x"});
    BOOST_REQUIRE(!follow.has_value());
    BOOST_TEST(follow.error().what.starts_with("follow.unitId"));
    BOOST_TEST(!received(Follow{.unitId = "u", .replica = limits::kReplicas}).has_value());

    const LogChunk ok{.unitId = "u-001", .replica = 1, .stream = "stdout", .data = Bytes(5, 'a')};
    BOOST_TEST(received(ok).has_value());
    auto named = [](LogChunk c, std::string_view field) {
        auto r = received(c);
        return !r.has_value() && r.error().what.starts_with(field);
    };
    auto c = ok;
    c.unitId = ".hidden";
    BOOST_TEST(named(c, "log-chunk.unitId"));
    c = ok;
    c.replica = limits::kReplicas;
    BOOST_TEST(named(c, "log-chunk.replica"));
    c = ok;
    c.stream = "stdin";
    BOOST_TEST(named(c, "log-chunk.stream"));
    c = ok;
    c.data = Bytes(limits::kLogChunkBytes + 1, 'a');
    BOOST_TEST(named(c, "log-chunk.data"));
    c.data = Bytes(limits::kLogChunkBytes, 'a');
    BOOST_TEST(received(c).has_value());
    c = ok;
    c.offset = limits::kBlobBytes - 2;
    BOOST_TEST(named(c, "log-chunk.offset"));
    c.offset = ~0ull;
    BOOST_TEST(named(c, "log-chunk.offset"));
}

// Addresses a relay reports are punched toward: numeric ones only.
BOOST_AUTO_TEST_CASE(observed_addresses_are_numeric) {
    for (const char* good : {"", "203.0.113.5:4000", "[2001:db8::1]:7", "[::ffff:192.0.2.1]:80"})
        BOOST_TEST(received(RelayOpened{.peerObserved = good}).has_value(), good);
    for (const char* bad : {"face.cafe:443", "203.0.113.5", "203.0.113.5:0", "203.0.113.5:65536",
                            "2001:db8::1:7", "[2001:db8::1]", "1.2.3:4", "[1.2.3.4]:5"}) {
        auto v = received(RelayOpened{.peerObserved = bad});
        BOOST_TEST(!v.has_value(), bad);
        if (!v)
            BOOST_TEST(v.error().what.find("relay-opened.peerObserved") != std::string::npos);
    }
    BOOST_TEST(!received(RelayOpened{.observed = "a:1"}).has_value());
    BOOST_TEST(!received(RelayReserved{.observed = "dead.beef:1"}).has_value());
    BOOST_TEST(!received(RelayIncoming{.from = PeerId(Identity::generate().publicKey()).str(),
                                       .fromObserved = "cafe::1:2"})
                    .has_value());
}

BOOST_AUTO_TEST_CASE(relative_paths) {
    for (const char* ok : {"a", "out/a/b", "in.txt", "a..b", ".hidden"})
        BOOST_TEST(checkRelativePath(ok).has_value(), ok);
    for (const char* bad : {"", "/a", "a/../b", "..", ".", "a//b", "a/", "a\\b", "a\tb"})
        BOOST_TEST(!checkRelativePath(bad).has_value(), bad);
    BOOST_TEST(!checkRelativePath(std::string(256, 'a')).has_value());
    BOOST_TEST(!checkRelativePath(std::string(2000, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(dht_records) {
    CapacityRecord c;
    c.slots = 4;
    c.freeSlots = 2;
    c.arch = "x86_64\x1b]0;pwned\x07";
    c.labels = {"gpu", std::string(500, 'l')};
    BOOST_TEST(judge(c).has_value());
    BOOST_TEST(c.arch == "x86_64\xEF\xBF\xBD]0;pwned\xEF\xBF\xBD");
    BOOST_TEST(c.labels[1].size() <= 64u);
    for (auto word : {"", "public", "behind-nat"}) {
        c.reach = word;
        BOOST_TEST(judge(c).has_value(), word);
    }
    for (auto word : {"Public", "behind nat", "unknown", "public\n", "\x1b[31mpublic"}) {
        c.reach = word;
        auto verdict = judge(c);
        BOOST_REQUIRE_MESSAGE(!verdict, "reach '" << word << "' passed the judge");
        BOOST_TEST(verdict.error().what.starts_with("capacity.reach: '"), word);
    }
    c.reach = std::string(500, 'p');
    auto longWord = judge(c);
    BOOST_REQUIRE(!longWord);
    BOOST_TEST(longWord.error().what.size() < 200u); // quotes only an excerpt
    c.reach = "public";
    c.freeSlots = 5;
    BOOST_TEST(judge(c).error().what.starts_with("capacity.freeSlots"));
    c.slots = c.freeSlots = 100'000;
    BOOST_TEST(judge(c).error().what.starts_with("capacity.slots"));

    Offer o;
    o.endpoints = {"192.0.2.1:7000", "[2001:db8::1]:7000"};
    BOOST_TEST(judge(o).has_value());
    o.endpoints.push_back("a b:1");
    BOOST_TEST(judge(o).error().what.starts_with("offer.endpoints[2]"));
    o.endpoints.assign(17, "192.0.2.1:7000");
    BOOST_TEST(judge(o).error().what.starts_with("offer.endpoints"));
}

BOOST_AUTO_TEST_CASE(offer_batch_id_is_empty_or_32_lower_hex) {
    Offer o;
    o.endpoints = {"192.0.2.1:7000"};
    BOOST_TEST(judge(o).has_value()); // an older submitter's offer
    o.batchId = "0123456789abcdef0123456789abcdef";
    BOOST_TEST(judge(o).has_value());
    for (const char* bad :
         {"0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef",
          "0123456789abcdef0123456789abcdef00", "../../etc/passwd0123456789abcdef",
          "0123456789abcdef0123456789abcdeg"}) {
        o.batchId = bad;
        auto verdict = judge(o);
        BOOST_REQUIRE(!verdict);
        BOOST_TEST(verdict.error().what.starts_with("offer.batchId"));
    }
}

BOOST_AUTO_TEST_SUITE_END()

#include "submitter/result_store.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::test::readFile;
using swarm::test::TempDir;
namespace fs = std::filesystem;

namespace {

swarm::wire::Digest digestOf(std::string_view text) {
    return swarm::wire::sha256(swarm::wire::asBytes(text));
}

OutputFile put(ResultStore& store, std::string name, std::string_view content) {
    const auto d = digestOf(content);
    BOOST_REQUIRE(store.putBlob(d, swarm::wire::asBytes(content)));
    return {std::move(name), d, content.size()};
}

} // namespace

BOOST_AUTO_TEST_SUITE(result_store)

BOOST_AUTO_TEST_CASE(safe_names) {
    BOOST_TEST(safeRelativePath("stdout").value() == fs::path("stdout"));
    BOOST_TEST(safeRelativePath("out/a.txt").value() == fs::path("out/a.txt"));
    BOOST_TEST(safeRelativePath("..data").has_value()); // a name, not a parent
    const std::vector<std::string> bad{"",
                                       "/etc/passwd",
                                       "..",
                                       "../x",
                                       "out/../../x",
                                       "out/..",
                                       "./x",
                                       "a//b",
                                       "a/",
                                       std::string("a\0b", 3),
                                       "a\nb",
                                       "a\\..\\b",
                                       std::string(256, 'x'),
                                       std::string(600, 'a') + "/" + std::string(600, 'b')};
    for (const auto& name : bad) {
        auto r = safeRelativePath(name);
        BOOST_TEST(!r.has_value(), "accepted '" << name << "'");
        if (!r)
            BOOST_TEST((r.error().code == swarm::wire::Error::Code::kInvalidArgument));
    }
    BOOST_TEST(safeRelativePath(std::string(255, 'x')).has_value());
}

BOOST_AUTO_TEST_CASE(output_name_sets) {
    const auto d = digestOf("x");
    BOOST_TEST(checkOutputNames({{"stdout", d, 1}, {"out/a", d, 1}, {"out/b", d, 1}}).has_value());
    BOOST_TEST(checkOutputNames({{"out", d, 1}, {"out/a", d, 1}}).error().what ==
               "output 'out' is both a file and a directory");
    BOOST_TEST(checkOutputNames({{"a", d, 1}, {"a", d, 1}}).error().what ==
               "output 'a' listed twice");
    BOOST_TEST(!checkOutputNames({{"../a", d, 1}}).has_value());
}

BOOST_AUTO_TEST_CASE(blobs_are_verified) {
    TempDir dir;
    ResultStore store(dir.path());
    const std::string content = "hello";
    BOOST_TEST(!store.hasBlob(digestOf(content)));
    auto wrong = store.putBlob(digestOf("other"), swarm::wire::asBytes(content));
    BOOST_REQUIRE(!wrong);
    BOOST_TEST((wrong.error().code == swarm::wire::Error::Code::kMalformed));
    BOOST_TEST(!store.hasBlob(digestOf("other")));
    BOOST_REQUIRE(store.putBlob(digestOf(content), swarm::wire::asBytes(content)));
    BOOST_TEST(store.hasBlob(digestOf(content)));
    BOOST_TEST(readFile(store.blobPath(digestOf(content))) == content);

    const auto tmp = dir.write("incoming.part", "streamed");
    BOOST_TEST(!store.importBlobFile(digestOf("nope"), tmp).has_value());
    BOOST_TEST(!fs::exists(tmp));
    const auto tmp2 = dir.write("incoming2.part", "streamed");
    BOOST_REQUIRE(store.importBlobFile(digestOf("streamed"), tmp2));
    BOOST_TEST(readFile(store.blobPath(digestOf("streamed"))) == "streamed");
}

BOOST_AUTO_TEST_CASE(unit_results_written_and_replaced_atomically) {
    TempDir dir;
    ResultStore store(dir.path());
    std::vector<OutputFile> outs{put(store, "stdout", "42\n"), put(store, "stderr", ""),
                                 put(store, "out/count", "7")};
    BOOST_REQUIRE(store.writeUnit("a.txt", outs));
    const auto u = dir / "results/a.txt";
    BOOST_TEST(store.unitDir("a.txt") == u);
    BOOST_TEST(readFile(u / "stdout") == "42\n");
    BOOST_TEST(readFile(u / "stderr") == "");
    BOOST_TEST(readFile(u / "out/count") == "7");
    // Rewriting (a resumed run) replaces the whole directory.
    std::vector<OutputFile> second{put(store, "stdout", "43\n")};
    BOOST_REQUIRE(store.writeUnit("a.txt", second));
    BOOST_TEST(readFile(u / "stdout") == "43\n");
    BOOST_TEST(!fs::exists(u / "out/count"));
    for (const auto& e : fs::directory_iterator(dir / "results"))
        BOOST_TEST(!e.path().filename().string().starts_with("."), e.path());
}

BOOST_AUTO_TEST_CASE(escapes_are_refused) {
    TempDir dir;
    ResultStore store(dir / "job");
    const auto ok = put(store, "stdout", "x");
    for (const std::string name : {"../escape", "/tmp/abs", "a/../../b", "", "x/./y"}) {
        auto r = store.writeUnit("u1", {ok, {name, ok.digest, 1}});
        BOOST_TEST(!r.has_value(), name);
    }
    for (const std::string id : {"..", "../u", "a/b", ".hidden", ""}) {
        auto r = store.writeUnit(id, {ok});
        BOOST_TEST(!r.has_value(), id);
    }
    BOOST_TEST(!fs::exists(dir / "escape"));
    BOOST_TEST(!fs::exists(dir / "job/results/u1"));
    auto missing = store.writeUnit("u1", {ok, {"more", digestOf("absent"), 6}});
    BOOST_REQUIRE(!missing);
    BOOST_TEST((missing.error().code == swarm::wire::Error::Code::kNotFound));
}

BOOST_AUTO_TEST_CASE(missing_units_rewritten_on_resume) {
    TempDir dir;
    ResultStore store(dir.path());
    Snapshot snap;
    UnitRecord a;
    a.id = "a";
    a.state = UnitState::kValid;
    a.acceptedReplica = 1;
    UnitRecord b = a;
    b.id = "b";
    UnitRecord c;
    c.id = "c"; // pending: nothing to write
    snap.units = {a, b, c};
    ReplicaRecord ra;
    ra.unitId = "a";
    ra.replica = 1;
    ra.state = ReplicaState::kSucceeded;
    ra.outputs = {put(store, "stdout", "A")};
    ReplicaRecord rb = ra;
    rb.unitId = "b";
    rb.outputs = {{"stdout", digestOf("never received"), 3}};
    snap.replicas = {ra, rb};
    auto failures = store.writeMissingUnits(snap);
    BOOST_TEST(readFile(dir / "results/a/stdout") == "A");
    BOOST_REQUIRE(failures.size() == 1u);
    BOOST_TEST(failures[0].first == "b");
    BOOST_TEST(!fs::exists(dir / "results/c"));
    // Already written units are left alone.
    fs::remove(store.blobPath(digestOf("A")));
    BOOST_TEST(store.writeMissingUnits(snap).size() == 1u);
    BOOST_TEST(readFile(dir / "results/a/stdout") == "A");
}

BOOST_AUTO_TEST_CASE(summary) {
    Snapshot snap;
    UnitRecord valid;
    valid.id = "a";
    valid.state = UnitState::kValid;
    valid.digest = digestOf("d");
    valid.acceptedReplica = 0;
    valid.agreed = {"w1", "w2"};
    UnitRecord failed;
    failed.id = "b";
    failed.state = UnitState::kFailed;
    failed.reason = "too many \"errors\"";
    snap.units = {valid, failed};
    ReplicaRecord r0;
    r0.unitId = "a";
    r0.replica = 0;
    r0.worker = "w1";
    r0.state = ReplicaState::kSucceeded;
    r0.exitCode = 0;
    r0.digest = valid.digest;
    ReplicaRecord r1 = r0;
    r1.replica = 1;
    r1.worker = "w2";
    ReplicaRecord r2;
    r2.unitId = "a";
    r2.replica = 2;
    r2.worker = "w3";
    r2.state = ReplicaState::kGivenBack;
    r2.reason = "given back";
    snap.replicas = {r0, r1, r2};
    const auto json = summaryJson("job", snap);
    const auto d = valid.digest->str();
    BOOST_TEST(
        json ==
        "{\"job\":\"job\",\"counts\":{\"total\":2,\"valid\":1,\"failed\":1,\"pending\":0},"
        "\"units\":[{\"id\":\"a\",\"state\":\"valid\",\"digest\":\"" +
            d +
            "\",\"agreed\":[\"w1\",\"w2\"],\"attempts\":2,\"replicas\":["
            "{\"replica\":0,\"worker\":\"w1\",\"state\":\"succeeded\",\"exit_code\":0,"
            "\"digest\":\"" +
            d +
            "\"},"
            "{\"replica\":1,\"worker\":\"w2\",\"state\":\"succeeded\",\"exit_code\":0,"
            "\"digest\":\"" +
            d +
            "\"},"
            "{\"replica\":2,\"worker\":\"w3\",\"state\":\"given-back\",\"reason\":\"given "
            "back\"}]},"
            "{\"id\":\"b\",\"state\":\"failed\",\"digest\":null,\"agreed\":[],\"attempts\":0,"
            "\"reason\":\"too many \\\"errors\\\"\",\"replicas\":[]}],\"sessions\":[]}");
    TempDir dir;
    ResultStore store(dir.path());
    store.writeSummary("job", snap);
    BOOST_TEST(readFile(dir / "summary.json") == json + "\n");
}

BOOST_AUTO_TEST_CASE(summary_lists_each_session_and_its_path) {
    std::vector<SessionRecord> sessions = {
        {"w1", "direct", "203.0.113.11:4000", 10, 20, "peer closed the stream"},
        {"w2", "relayed", "via relay sw1abc (203.0.113.3:7400)", 15, 0, ""}};
    const auto json = summaryJson("job", Snapshot{}, sessions);
    const std::string want =
        R"x("sessions":[{"worker":"w1","path":"direct","address":"203.0.113.11:4000",)x"
        R"x("started_ms":10,"ended_ms":20,"reason":"peer closed the stream"},)x"
        R"x({"worker":"w2","path":"relayed","address":"via relay sw1abc (203.0.113.3:7400)",)x"
        R"x("started_ms":15,"ended_ms":0}]})x";
    BOOST_TEST(json.ends_with(want), json);
}

BOOST_AUTO_TEST_SUITE_END()

// `swarm-submit status DIR UNIT`: one unit, its replicas, results and logs.
#include "submitter/job_fixture.hpp"
#include "submitter/journal.hpp"
#include "submitter/unit_detail.hpp"
#include "support/temp_dir.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    TempDir tmp;
    swarm::wire::ManualClock clock{1'000'000};
    fs::path dir = tmp / "demo.swarm";
    Snapshot state;
    Fixture() {
        swarm::test::makeJobDir(dir, tmp / "in", clock);
        state = Journal::open(dir, Journal::Access::kReadOnly).load();
    }
    UnitDetail detail(std::string_view unit) const {
        auto d = unitDetail(dir, "demo", state, unit);
        BOOST_REQUIRE_MESSAGE(d, (d ? "" : d.error()));
        return *d;
    }
    std::string blob(std::string_view content) const {
        return (dir / "blobs" /
                swarm::wire::toHex(swarm::wire::sha256(swarm::wire::asBytes(content)).bytes))
            .string();
    }
};

std::string timeText(std::int64_t ms) {
    return "T" + std::to_string(ms);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(unit_detail, Fixture)

BOOST_AUTO_TEST_CASE(a_valid_unit_with_its_results_and_logs) {
    const auto d = detail("u0");
    BOOST_TEST(d.resultFiles == (std::vector<std::string>{"stderr", "stdout"}));
    const auto& digest = d.unit.digest->str();
    const auto replicaDigest = d.replicas.at(0).record.digest->str();
    const auto text = unitDetailText(d, timeText);
    BOOST_TEST(text == "unit u0 of job demo (" + dir.string() + "): valid\n" + "  digest   " +
                           digest + "\n" + "  agreed   w1, w2\n" + "  results  " +
                           (dir / "results/u0").string() + " (stderr, stdout)\n" +
                           "replica 0: succeeded\n" + "  worker   w1\n" + "  exit     0\n" +
                           "  digest   " + replicaDigest + "\n" + "  issued   T1000000\n" +
                           "  stdout   " + blob("zero\n") + "\n" + "  stderr   " +
                           blob("took 1s\n") + "\n" + "replica 1: succeeded\n" + "  worker   w2\n" +
                           "  exit     0\n" + "  digest   " + replicaDigest + "\n" +
                           "  issued   T1000000\n" + "  stdout   " + blob("zero\n") + "\n" +
                           "  stderr   " + blob("took 2s\n") + "\n");
}

BOOST_AUTO_TEST_CASE(a_failed_unit_names_its_reason_and_errors) {
    const auto text = unitDetailText(detail("u1"), timeText);
    BOOST_TEST(text.starts_with("unit u1 of job demo (" + dir.string() + "): failed\n"));
    BOOST_TEST(text.find("  reason   too many errors") != std::string::npos, text);
    BOOST_TEST(text.find("replica 0: errored\n  worker   w1\n  reason   timed out\n") !=
                   std::string::npos,
               text);
    BOOST_TEST(text.find("exit") == std::string::npos, text); // no container exit to show
    BOOST_TEST(text.find("results") == std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(a_pending_unit_shows_its_leases) {
    const auto text = unitDetailText(detail("u2"), timeText);
    BOOST_TEST(text.find("): pending\n") != std::string::npos, text);
    BOOST_TEST(text.find("replica 1: in-flight\n  worker   w2\n  issued   T1000000\n"
                         "  lease    until T1060000\n") != std::string::npos,
               text);
}

BOOST_AUTO_TEST_CASE(an_unknown_unit_is_one_line) {
    auto d = unitDetail(dir, "demo", state, "u9");
    BOOST_REQUIRE(!d);
    BOOST_TEST(d.error() == "no unit 'u9' in job " + dir.string());
}

BOOST_AUTO_TEST_CASE(a_log_blob_that_is_gone_is_not_named) {
    fs::remove(blob("took 2s\n"));
    const auto d = detail("u0");
    BOOST_TEST(!d.replicas.at(1).stderrFile);
    BOOST_TEST(unitDetailText(d, timeText).find("  stderr   not kept\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json) {
    const auto doc = unitDetailJson(detail("u1"));
    BOOST_TEST(doc.starts_with(R"({"job":"demo","dir":")" + dir.string() +
                               R"(","unit":"u1","state":"failed","digest":null,"agreed":[],)"
                               R"("reason":"too many errors)"),
               doc);
    BOOST_TEST(doc.find(R"("results":null,"result_files":[],"replicas":[{"replica":0,)"
                        R"("worker":"w1","state":"errored","exit_code":null,"digest":null,)"
                        R"("reason":"timed out","issued_ms":1000000,"lease_expires_ms":1060000,)"
                        R"("stdout":null,"stderr":null})") != std::string::npos,
               doc);
}

BOOST_AUTO_TEST_SUITE_END()

// `swarm-submit workers` against a small loopback overlay, run in-process
// with stdout captured; the --json document is parsed back.

#include "base/json_writer.hpp"
#include "cli/command_line.hpp"
#include "cli/program.hpp"
#include "dht/announcer.hpp"
#include "dht/discovery.hpp"
#include "dht/node.hpp"
#include "submitter/workers_command.hpp"
#include "support/temp_dir.hpp"
#include "test_support.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace swarm;
using namespace swarm::dht;
using namespace swarm::dht::test;
using namespace std::chrono_literals;
using swarm::test::TempDir;

namespace {

// `swarm-submit WORDS` with workers as its only command, parsed as
// swarm-submit parses it, run in this process.
int runWorkers(const std::vector<std::string>& words) {
    const cli::Program program{"swarm-submit", "test", {submitter::workersCommand()}};
    cli::CommandLine line(program);
    auto inv = line.parse(words);
    BOOST_REQUIRE(inv.action);
    return inv.action(inv.globals);
}

// Runs `fn` with fd 1 redirected to a file; returns what it printed.
template <typename Fn>
std::string captureStdout(const std::filesystem::path& file, Fn fn, int& status) {
    std::fflush(stdout);
    int saved = dup(1);
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_REQUIRE(fd >= 0 && saved >= 0);
    dup2(fd, 1);
    close(fd);
    try {
        status = fn();
    } catch (...) {
        std::fflush(stdout);
        dup2(saved, 1);
        close(saved);
        throw;
    }
    std::fflush(stdout);
    dup2(saved, 1);
    close(saved);
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(workers_command)

// The document's strings go through base::jsonString (its own tests are in
// tests/base): newline, tab and return as \n, \t, \r like the submitter's
// events, and invalid UTF-8 as U+FFFD itself rather than a \ufffd escape.
BOOST_AUTO_TEST_CASE(json_string_escaping) {
    using base::jsonString;
    BOOST_TEST(jsonString("plain") == "\"plain\"");
    BOOST_TEST(jsonString("a\"b\\c") == "\"a\\\"b\\\\c\"");
    BOOST_TEST(jsonString(std::string("\n\x01", 2)) == "\"\\n\\u0001\"");
    BOOST_TEST(jsonString("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
    BOOST_TEST(jsonString("bad\xff\xc3") == "\"bad\xef\xbf\xbd\xef\xbf\xbd\"");
    BOOST_TEST(jsonString("\xed\xa0\x80") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

BOOST_AUTO_TEST_CASE(lists_trusted_workers_as_json) {
    TempDir home;
    wire::SystemClock clock;
    auto trusted = identityN(61);
    auto other = identityN(62);
    auto self = identityN(63);
    wire::TrustList trust;
    BOOST_REQUIRE(
        trust.add(wire::PeerId(trusted.publicKey()), "alice", wire::PeerId(self.publicKey())));
    trust.save(wire::trustPath(home.path()));

    NodeConfig bootCfg;
    bootCfg.bindAddress = "127.0.0.1";
    Node boot(bootCfg);
    NodeConfig wcfg;
    wcfg.bindAddress = "127.0.0.1";
    wcfg.bootstrap = {HostPort{"127.0.0.1", boot.port()}};
    Node workerNode(wcfg);
    wcfg.bindAddress = "127.0.0.1";
    Node otherNode(wcfg);
    BOOST_REQUIRE(workerNode.waitForNodes(1, 10s));
    BOOST_REQUIRE(otherNode.waitForNodes(1, 10s));
    Announcer a1(workerNode, trusted, clock);
    Announcer a2(otherNode, other, clock);
    auto rec = sampleRecord(6);
    rec.labels = {"quote\"d", "ctl\x01"};
    BOOST_REQUIRE(a1.announce(rec));
    BOOST_REQUIRE(a2.announce(sampleRecord(2)));

    // The bootstrap node and bind address come from the settings file.
    {
        std::ofstream cfg(home.path() / "submitter.toml");
        cfg << "bootstrap = [\"127.0.0.1:" << boot.port() << "\"]\ndht_address = \"127.0.0.1\"\n";
    }
    int status = -1;
    auto out = captureStdout(
        home.path() / "out.json",
        [&] {
            return runWorkers(
                {"--home", home.path().string(), "--json", "workers", "--timeout", "20"});
        },
        status);
    BOOST_TEST_MESSAGE("workers --json: " << out);
    BOOST_TEST(status == 0);

    boost::property_tree::ptree doc;
    std::istringstream in(out);
    BOOST_REQUIRE_NO_THROW(boost::property_tree::read_json(in, doc));
    BOOST_TEST(doc.get<std::string>("swarm") == "default");
    BOOST_TEST(doc.get<int>("allow_listed") == 1);
    BOOST_TEST(doc.get<int>("found") == 1);
    BOOST_TEST(doc.get<bool>("complete"));
    auto& workers = doc.get_child("workers");
    BOOST_REQUIRE(workers.size() == 1u);
    auto& w = workers.front().second;
    BOOST_TEST(w.get<std::string>("id") == idOf(trusted));
    BOOST_TEST(w.get<std::string>("name") == "alice");
    BOOST_TEST(w.get<int>("cores") == 6);
    BOOST_TEST(w.get<std::uint64_t>("memory_bytes") == (8ULL << 30));
    BOOST_TEST(w.get<bool>("rootless"));
    BOOST_TEST(w.get<bool>("isolation.read_only"));
    BOOST_TEST(w.get_child("labels").front().second.get_value<std::string>() == "quote\"d");
    BOOST_TEST(w.get<std::int64_t>("age_ms") >= 0);
    // The untrusted worker may or may not have been seen before all
    // allow-listed ones were: it is never listed, at most counted.
    BOOST_TEST(doc.get<int>("skipped.untrusted") <= 1);
    BOOST_TEST(doc.get<int>("skipped_total") ==
               doc.get<int>("skipped.untrusted") + doc.get<int>("skipped.stale"));
}

BOOST_AUTO_TEST_CASE(usage_errors) {
    TempDir home;
    const std::vector<std::string> before{"--home", home.path().string(), "workers"};
    auto words = [&](std::vector<std::string> more) {
        more.insert(more.begin(), before.begin(), before.end());
        return more;
    };
    BOOST_CHECK_THROW(runWorkers(words({"--swarm", "Bad/Name", "--bootstrap", "127.0.0.1:1"})),
                      cli::UsageError);
    BOOST_CHECK_THROW(runWorkers(words({"--bootstrap", "host:notaport"})), cli::UsageError);
    BOOST_CHECK_THROW(runWorkers(words({"--bootstrap", "127.0.0.1:1", "--bogus"})),
                      cli::UsageError);
}

BOOST_AUTO_TEST_SUITE_END()

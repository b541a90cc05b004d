// The command lines of swarm-worker, swarm-submit and swarm-bench, built
// through the same program() functions their main() uses: every flag a
// command reads is declared with a description and listed by --help, and
// mistakes are usage errors that name what was wrong.

#include "bench/program.hpp"
#include "cli/command_line.hpp"
#include "submitter/commands.hpp"
#include "support/temp_dir.hpp"
#include "worker/commands.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace swarm;

namespace {

using FlagTable = std::map<std::string, std::set<std::string>>;

// What each command reads, by the name its code gives it (positionals by
// their name in the usage line). A flag added to a command must be added
// here too; one read but not declared fails the test.
const FlagTable kIdentityFlags = {
    {"init", {"--force"}},
    {"id", {}},
    {"trust", {}},
    {"trust add", {"PEER-ID", "--name"}},
    {"trust remove", {"PEER"}},
    {"trust list", {}},
};

// Serving relay circuits (cli/relay_options.hpp), on both daemons' run.
const std::set<std::string> kRelayFlags = {"--relay", "--relay-circuits", "--relay-circuit-mib",
                                           "--relay-mbit"};

FlagTable workerFlags() {
    FlagTable t = kIdentityFlags;
    t["run"] = {"--config", "--swarm", "--bootstrap", "--dht-address", "--dht-port",
                "--slots",  "--cpus",  "--memory",    "--lan"};
    t["run"].insert(kRelayFlags.begin(), kRelayFlags.end());
    t["status"] = {};
    t["suspend"] = {"--for"};
    t["resume"] = {};
    t["doctor"] = {"--image", "--fix"};
    return t;
}

FlagTable submitFlags() {
    std::set<std::string> network = {"--listen",    "--advertise",   "--swarm",
                                     "--bootstrap", "--dht-address", "--dht-port",
                                     "--lan",       "--relay-via",   "--warn-after"};
    network.insert(kRelayFlags.begin(), kRelayFlags.end());
    FlagTable t = kIdentityFlags;
    t["run"] = network;
    t["run"].insert({"JOB.toml", "--out", "--image", "--replicas", "--quorum", "--timeout"});
    t["resume"] = network;
    t["resume"].insert("DIR");
    t["status"] = {"DIR", "UNIT"};
    t["logs"] = {"DIR", "UNIT", "--replica", "--follow"};
    t["cancel"] = {"DIR"};
    t["why"] = {"DIR", "UNIT"};
    t["jobs"] = {};
    t["workers"] = {"--swarm", "--bootstrap", "--timeout", "--bind", "--port", "--lan"};
    return t;
}

FlagTable benchFlags() {
    return {
        {"stream", {"--quick", "--size", "--runs", "--only", "--link"}},
        {"discovery",
         {"--quick", "--net", "--nodes", "--workers", "--trusted", "--runs", "--probes",
          "--timeout", "--settle", "--seed", "--rtt", "--jitter", "--loss", "--csv", "--plot",
          "--plot-only", "--serve-nodes", "--join"}},
        {"dispatch",
         {"--quick", "--units", "--workers", "--slots", "--idle-ms", "--steps", "--csv", "--keep"}},
    };
}

const std::set<std::string> kGlobalFlags = {"--home", "--log-level", "--json", "--help"};

// `flag` as a word of `text` (not the start of a longer flag).
bool mentions(const std::string& text, const std::string& flag) {
    for (auto at = text.find(flag); at != std::string::npos; at = text.find(flag, at + 1)) {
        auto end = at + flag.size();
        if (end == text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) ||
                                    text[end] == '-' || text[end] == '_'))
            return true;
    }
    return false;
}

std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> words;
    std::istringstream in(path);
    for (std::string w; in >> w;)
        words.push_back(w);
    return words;
}

// The declared flags of `app` (long names, or a positional's name), each
// checked to carry a description.
std::set<std::string> declared(const CLI::App& app, const std::string& path) {
    std::set<std::string> names;
    for (const CLI::Option* opt : app.get_options()) {
        BOOST_TEST_CONTEXT(path << " " << opt->get_name()) {
            BOOST_TEST(!opt->get_description().empty());
        }
        if (opt->get_positional() && !opt->nonpositional())
            names.insert(opt->get_name(true, false));
        for (const auto& l : opt->get_lnames())
            names.insert("--" + l);
    }
    return names;
}

// Every command (at any depth) of `program`: its declared flags equal the
// table's plus the global ones, and its --help lists each of them.
void checkProgram(const cli::Program& program, const FlagTable& table) {
    cli::CommandLine line(program);
    std::set<std::string> seen;
    std::vector<std::pair<std::string, const CLI::App*>> todo;
    const CLI::App& root = line.app();
    for (const CLI::App* sub : root.get_subcommands(std::function<bool(const CLI::App*)>{}))
        todo.emplace_back(sub->get_name(), sub);
    while (!todo.empty()) {
        auto [path, app] = todo.back();
        todo.pop_back();
        seen.insert(path);
        for (const CLI::App* sub : app->get_subcommands(std::function<bool(const CLI::App*)>{}))
            todo.emplace_back(path + " " + sub->get_name(), sub);
        BOOST_TEST_CONTEXT(program.name << " " << path) {
            BOOST_REQUIRE(table.contains(path));
            std::set<std::string> want = table.at(path);
            want.insert(kGlobalFlags.begin(), kGlobalFlags.end());
            BOOST_TEST(declared(*app, path) == want, boost::test_tools::per_element());
            auto words = split(path);
            words.push_back("--help");
            cli::CommandLine fresh(program);
            auto inv = fresh.parse(words);
            BOOST_TEST(!inv.action);
            BOOST_TEST(inv.status == 0);
            for (const auto& flag : want)
                BOOST_TEST(mentions(inv.text, flag), flag << " missing from:\n" << inv.text);
        }
    }
    std::set<std::string> tabled;
    for (const auto& [path, flags] : table)
        tabled.insert(path);
    BOOST_TEST(seen == tabled, boost::test_tools::per_element());

    // The program's own --help: the global options and every command.
    cli::CommandLine top(program);
    auto inv = top.parse({"--help"});
    BOOST_TEST(inv.status == 0);
    for (const auto& flag : kGlobalFlags)
        BOOST_TEST(mentions(inv.text, flag), flag);
    for (const auto& c : program.commands) {
        BOOST_TEST(mentions(inv.text, std::string(c.name)), c.name);
        BOOST_TEST(inv.text.find(c.summary) != std::string::npos, c.summary);
    }
}

// The UsageError parse() throws for `words`, or "" if it throws none.
std::string usageError(const cli::Program& program, const std::vector<std::string>& words) {
    cli::CommandLine line(program);
    try {
        line.parse(words);
    } catch (const cli::UsageError& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_SUITE(help)

BOOST_AUTO_TEST_CASE(swarm_worker_lists_every_flag) {
    checkProgram(worker::program(), workerFlags());
}

BOOST_AUTO_TEST_CASE(swarm_submit_lists_every_flag) {
    checkProgram(submitter::program(), submitFlags());
}

BOOST_AUTO_TEST_CASE(swarm_bench_lists_every_flag) {
    checkProgram(bench::program(), benchFlags());
}

BOOST_AUTO_TEST_CASE(defaults_are_shown) {
    cli::CommandLine line(submitter::program());
    auto workers = line.parse({"workers", "--help"}).text;
    BOOST_TEST(workers.find("SECONDS=10") != std::string::npos, workers);
    cli::CommandLine worker(worker::program());
    auto doctor = worker.parse({"doctor", "--help"}).text;
    BOOST_TEST(doctor.find("=localhost/swarm-probe:1") != std::string::npos, doctor);
}

BOOST_AUTO_TEST_CASE(no_command_prints_help_with_status_2) {
    cli::CommandLine line(worker::program());
    auto inv = line.parse({});
    BOOST_TEST(!inv.action);
    BOOST_TEST(inv.status == 2);
    BOOST_TEST(mentions(inv.text, "doctor"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(usage_errors)

BOOST_AUTO_TEST_CASE(an_unknown_flag_is_named) {
    auto e = usageError(worker::program(), {"run", "--bogus"});
    BOOST_TEST(e.find("unknown option '--bogus'") != std::string::npos, e);
    BOOST_TEST(e.find("swarm-worker run --help") != std::string::npos, e);
    e = usageError(worker::program(), {"--bogus", "status"});
    BOOST_TEST(e.find("'--bogus'") != std::string::npos, e);
    e = usageError(submitter::program(), {"trust", "add", "sw1x", "--force"});
    BOOST_TEST(e.find("'--force'") != std::string::npos, e);
    e = usageError(bench::program(), {"stream", "--nodes", "4"});
    BOOST_TEST(e.find("'--nodes'") != std::string::npos, e);
}

// Checked before the daemon is asked: no socket is needed to be told.
BOOST_AUTO_TEST_CASE(a_suspension_for_no_duration_is_named) {
    const auto program = worker::program();
    for (std::string bad : {"soon", "0", "-5m", "30x", "1.5h", ""}) {
        cli::CommandLine line(program);
        auto inv = line.parse({"--home", "/nonexistent", "suspend", "--for", bad});
        BOOST_REQUIRE(inv.action);
        std::string e;
        try {
            inv.action(inv.globals);
        } catch (const cli::UsageError& u) {
            e = u.what();
        }
        BOOST_TEST(e == "--for wants a duration like 30m, 2h, 90s or 1d (got '" + bad + "')");
    }
}

BOOST_AUTO_TEST_CASE(a_missing_value_is_named) {
    auto e = usageError(worker::program(), {"run", "--slots"});
    BOOST_TEST(e.find("--slots") != std::string::npos, e);
    BOOST_TEST(e.find("--help") != std::string::npos, e);
    e = usageError(submitter::program(), {"run", "job.toml", "--out"});
    BOOST_TEST(e.find("--out") != std::string::npos, e);
    e = usageError(submitter::program(), {"--home"});
    BOOST_TEST(e.find("--home") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(a_missing_positional_is_named) {
    auto e = usageError(submitter::program(), {"status"});
    BOOST_TEST(e.find("DIR") != std::string::npos, e);
    e = usageError(submitter::program(), {"status", "a", "b", "c"});
    BOOST_TEST(e.find("unexpected argument 'c'") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(numbers_are_whole_and_decimal) {
    for (std::string bad : {"-1", "0x10", "1.5", "", "4k"}) {
        auto e = usageError(worker::program(), {"run", "--slots", bad});
        BOOST_TEST(e.find("--slots") != std::string::npos, bad << ": " << e);
    }
    BOOST_TEST(
        usageError(worker::program(), {"--home", "/nonexistent", "run", "--slots", "4"}).empty());
}

BOOST_AUTO_TEST_CASE(unknown_commands_and_stray_words) {
    auto e = usageError(worker::program(), {"frobnicate"});
    BOOST_TEST(e.find("unknown command 'frobnicate'") != std::string::npos, e);
    // Only `run` of swarm-submit takes the words after "--".
    e = usageError(submitter::program(), {"status", "d", "--", "x"});
    BOOST_TEST(e.find("'x'") != std::string::npos, e);
    BOOST_TEST(usageError(submitter::program(), {"run", "--image", "i", "--", "x", ":::"}).empty());
    // One command per line: a second command word is a stray argument.
    e = usageError(submitter::program(), {"status", "d", "u", "run"});
    BOOST_TEST(e.find("'run'") != std::string::npos, e);
    e = usageError(worker::program(), {"--log-level", "loud", "status"});
    BOOST_TEST(e.find("unknown log level 'loud'") != std::string::npos, e);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(globals)

BOOST_AUTO_TEST_CASE(before_or_after_the_command) {
    const auto program = submitter::program();
    {
        cli::CommandLine line(program);
        auto inv = line.parse({"--home", "/a", "--json", "status", "d"});
        BOOST_REQUIRE(inv.action);
        BOOST_TEST(inv.globals.home == "/a");
        BOOST_TEST(inv.globals.json);
        BOOST_TEST(inv.globals.program == "swarm-submit");
    }
    {
        cli::CommandLine line(program);
        auto inv = line.parse({"trust", "list", "--home=/b", "--json", "--log-level", "debug"});
        BOOST_REQUIRE(inv.action);
        BOOST_TEST(inv.globals.home == "/b");
        BOOST_TEST(inv.globals.json);
        BOOST_TEST((inv.logLevel == wire::LogLevel::kDebug));
    }
    {
        cli::CommandLine line(program);
        auto inv = line.parse({"--home", "/a", "status", "d", "--home", "/c"});
        BOOST_TEST(inv.globals.home == "/c"); // the last one wins
        BOOST_TEST(!inv.globals.json);
    }
}

BOOST_AUTO_TEST_CASE(words_after_dashes_are_the_commands) {
    cli::CommandLine line(submitter::program());
    auto inv = line.parse(
        {"run", "--image", "img", "--replicas", "1", "--", "sh", "-c", "--x", ":::", "a"});
    BOOST_REQUIRE(inv.action);
    BOOST_TEST(inv.globals.rest == (std::vector<std::string>{"sh", "-c", "--x", ":::", "a"}),
               boost::test_tools::per_element());
}

// A repeatable option takes one value per occurrence: the words after it
// stay positionals.
BOOST_AUTO_TEST_CASE(repeatable_options_take_one_value_each) {
    BOOST_TEST(usageError(submitter::program(),
                          {"resume", "--bootstrap", "127.0.0.1:1", "--advertise", "h:1", "d"})
                   .empty());
    cli::CommandLine line(submitter::program());
    auto inv = line.parse({"run", "--bootstrap", "127.0.0.1:1", "job.toml", "--out", "d"});
    BOOST_TEST(inv.globals.rest.empty());
    auto e = usageError(worker::program(), {"run", "--bootstrap", "127.0.0.1:1", "b"});
    BOOST_TEST(e.find("unexpected argument 'b'") != std::string::npos, e);
}

// Repeated options keep every value, single ones the last: checked through
// `workers`, which refuses before it touches the network.
BOOST_AUTO_TEST_CASE(repeated_options) {
    test::TempDir home;
    const auto program = submitter::program();
    auto run = [&](std::vector<std::string> words) -> std::string {
        words.insert(words.begin(), {"--home", home.path().string(), "workers"});
        cli::CommandLine line(program);
        auto inv = line.parse(words);
        try {
            inv.action(inv.globals);
        } catch (const cli::UsageError& e) {
            return e.what();
        }
        return "";
    };
    auto e = run({"--bootstrap", "127.0.0.1:1", "--bootstrap", "host:notaport"});
    BOOST_TEST(e.find("notaport") != std::string::npos, e);
    e = run(
        {"--swarm", "Bad/Name", "--swarm", "good", "--bootstrap", "127.0.0.1:1", "--timeout", "0"});
    BOOST_TEST(e.find("--timeout must be") != std::string::npos, e);
}

BOOST_AUTO_TEST_SUITE_END()

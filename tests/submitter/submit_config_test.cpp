#include "submitter/submit_config.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm;
using namespace swarm::submitter;
using swarm::test::TempDir;

namespace {

std::filesystem::path write(const TempDir& dir, const std::string& text) {
    auto path = submitConfigPath(dir.path());
    std::ofstream(path) << text;
    return path;
}

} // namespace

BOOST_AUTO_TEST_SUITE(submit_config)

BOOST_AUTO_TEST_CASE(missing_file_is_an_empty_config) {
    TempDir dir;
    auto cfg = loadSubmitConfig(submitConfigPath(dir.path()));
    BOOST_REQUIRE(cfg);
    BOOST_TEST(cfg->swarm.empty());
    BOOST_TEST(cfg->bootstrap.empty());
    BOOST_TEST(cfg->dhtAddress.empty());
    BOOST_TEST(!cfg->lanDiscovery);
}

BOOST_AUTO_TEST_CASE(reads_every_key) {
    TempDir dir;
    auto cfg = loadSubmitConfig(write(dir, "swarm = \"lab\"\n"
                                           "bootstrap = [\"dht.example.org:4222\", \"10.0.0.5\"]\n"
                                           "dht_address = \"127.0.0.1\"\n"
                                           "lan_discovery = true\n"));
    BOOST_REQUIRE(cfg);
    BOOST_TEST(cfg->swarm == "lab");
    BOOST_TEST(cfg->bootstrap.size() == 2u);
    BOOST_TEST(cfg->bootstrap.at(0) == "dht.example.org:4222");
    BOOST_TEST(cfg->dhtAddress == "127.0.0.1");
    BOOST_TEST(cfg->lanDiscovery);
}

BOOST_AUTO_TEST_CASE(errors_name_the_file_and_line) {
    TempDir dir;
    auto check = [&](const std::string& text, const std::string& want) {
        auto cfg = loadSubmitConfig(write(dir, text));
        BOOST_REQUIRE(!cfg);
        BOOST_TEST((cfg.error().code == wire::Error::Code::kMalformed));
        BOOST_TEST_INFO("error: " << cfg.error().what);
        BOOST_TEST(cfg.error().what.find("submitter.toml:") != std::string::npos);
        BOOST_TEST(cfg.error().what.find(want) != std::string::npos);
    };
    check("swarm = \"a\"\nbootstrap = \"host:1\"\n", ":2: 'bootstrap' must be a list");
    check("bootstrap = [\"a:1\", 7]\n", "list of strings");
    check("lan_discovery = \"yes\"\n", "true or false");
    check("swarm = 3\n", "'swarm' must be a string");
    check("bootstrapp = []\n", "unknown key 'bootstrapp'");
    check("swarm = \"a\"\n[oops\n", ":2:");
}

BOOST_AUTO_TEST_SUITE_END()

#include "worker/worker_config.hpp"

#include "support/temp_dir.hpp"
#include "wire/identity.hpp"
#include "wire/trust_list.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm::worker;
using swarm::test::TempDir;

namespace {
std::expected<WorkerConfig, swarm::wire::Error> parse(const std::string& text) {
    static TempDir dir;
    auto path = dir.path() / "worker.toml";
    std::ofstream(path) << text;
    return loadWorkerConfig(path);
}
} // namespace

BOOST_AUTO_TEST_SUITE(worker_config)

BOOST_AUTO_TEST_CASE(reads_every_key) {
    auto cfg = parse("swarm = \"lab\"\nbootstrap = [\"a:1\", \"b:2\"]\nslots = 3\n"
                     "cpus_per_slot = 0.5\nmemory_per_slot = \"1G\"\ncache_limit = \"2G\"\n"
                     "allowed_images = [\"localhost/*\", \"quay.io/x/y@sha256:ab\"]\n"
                     "pull_images = true\naccept_image_archives = false\nlabels = [\"gpu\"]\n"
                     "max_timeout_seconds = 60\n");
    BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().what));
    BOOST_TEST(cfg->swarm == "lab");
    BOOST_TEST(cfg->bootstrap.size() == 2u);
    BOOST_TEST(cfg->slots == 3u);
    BOOST_TEST(cfg->cpusPerSlot == 0.5);
    BOOST_TEST(cfg->memoryPerSlot == 1ull << 30);
    BOOST_TEST(cfg->cacheBytes == 2ull << 30);
    BOOST_TEST(cfg->pullImages);
    BOOST_TEST(!cfg->acceptImageArchives);
    BOOST_TEST(cfg->maxTimeoutMs == 60'000);
}

BOOST_AUTO_TEST_CASE(held_limits) {
    auto none = parse("slots = 1\n");
    BOOST_REQUIRE(none);
    BOOST_TEST(none->heldMaxAgeMs == 24 * 3600 * 1000);
    BOOST_TEST(none->heldMaxBytes == 1ull << 30);
    auto cfg = parse("slots = 1\n[held]\nmax_age = \"90m\"\nmax_bytes = \"64M\"\n");
    BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().what));
    BOOST_TEST(cfg->heldMaxAgeMs == 90 * 60 * 1000);
    BOOST_TEST(cfg->heldMaxBytes == 64ull << 20);
    auto secs = parse("[held]\nmax_age = 30\n");
    BOOST_REQUIRE(secs);
    BOOST_TEST(secs->heldMaxAgeMs == 30'000);

    auto badAge = parse("slots = 1\n[held]\nmax_age = \"soon\"\n");
    BOOST_REQUIRE(!badAge);
    BOOST_TEST(badAge.error().what.ends_with("worker.toml:3: held: 'max_age' must be a duration "
                                             "like \"24h\", \"90m\" or \"7d\""));
    auto badBytes = parse("[held]\nmax_bytes = -1\n");
    BOOST_REQUIRE(!badBytes);
    BOOST_TEST(badBytes.error().what.find("worker.toml:2: held: 'max_bytes'") != std::string::npos);
    auto unknown = parse("[held]\nmax_count = 3\n");
    BOOST_REQUIRE(!unknown);
    BOOST_TEST(unknown.error().what.find("worker.toml:2: held: unknown key 'max_count'") !=
               std::string::npos);
    auto notTable = parse("held = 3\n");
    BOOST_REQUIRE(!notTable);
    BOOST_TEST(notTable.error().what.find("worker.toml:1: 'held' must be a table") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(schedule_windows) {
    auto none = parse("slots = 1\n");
    BOOST_REQUIRE(none);
    BOOST_TEST(none->schedule.always());
    auto cfg = parse("slots = 1\n[schedule]\nweekdays = \"18:00-08:00\"\nweekends = \"all\"\n"
                     "wed = \"none\"\n");
    BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().what));
    const auto& s = cfg->schedule;
    constexpr std::int64_t kDay = Schedule::kDay;
    BOOST_TEST(s.openAt(1 * kDay + 19 * 3600));  // Monday evening
    BOOST_TEST(!s.openAt(3 * kDay + 19 * 3600)); // Wednesday: its own key wins
    BOOST_TEST(s.openAt(3 * kDay + 2 * 3600));   // ... but Tuesday's night runs into it
    BOOST_TEST(s.openAt(6 * kDay + 12 * 3600));  // Saturday
    auto only = parse("[schedule]\nmon = \"09:00-17:00\"\n");
    BOOST_REQUIRE(only);
    BOOST_TEST(!only->schedule.openAt(2 * kDay + 10 * 3600)); // a day not named is closed

    auto bad = parse("slots = 1\n[schedule]\nweekdays = \"18:00-8:00\"\n");
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().what.ends_with(
                   "worker.toml:3: schedule: 'weekdays': '8:00' is not a time (HH:MM or HH:MM:SS)"),
               bad.error().what);
    auto unknown = parse("[schedule]\nholidays = \"all\"\n");
    BOOST_REQUIRE(!unknown);
    BOOST_TEST(unknown.error().what.find("worker.toml:2: schedule: unknown key 'holidays'") !=
               std::string::npos);
    auto notText = parse("[schedule]\nmon = 9\n");
    BOOST_REQUIRE(!notText);
    BOOST_TEST(notText.error().what.find("worker.toml:2: schedule: 'mon' must be a string") !=
               std::string::npos);
    auto empty = parse("slots = 1\n[schedule]\n");
    BOOST_REQUIRE(!empty);
    BOOST_TEST(empty.error().what.find("schedule: names no day") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cpu_cap) {
    auto none = parse("slots = 1\n");
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->cpuPercent == 100u);
    auto cfg = parse("slots = 1\n[limits]\ncpu_percent = 50\n");
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(cfg->cpuPercent == 50u);
    for (const char* value : {"0", "250", "\"50\"", "\"250%\"", "50.5", "-1"}) {
        auto bad = parse(std::string("slots = 1\n\n[limits]\ncpu_percent = ") + value + "\n");
        BOOST_REQUIRE(!bad.has_value());
        BOOST_TEST(bad.error().what.ends_with(
                       "worker.toml:4: limits: 'cpu_percent' must be a whole number from 1 to 100 "
                       "(percent of the whole machine)"),
                   value << ": " << bad.error().what);
    }
    auto percentSign = parse("[limits]\ncpu_percent = 250%\n"); // not TOML at all
    BOOST_REQUIRE(!percentSign.has_value());
    BOOST_TEST(percentSign.error().what.find("worker.toml:2:") != std::string::npos);
    auto unknown = parse("[limits]\ncpus = 1\n");
    BOOST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error().what.find("worker.toml:2: limits: unknown key 'cpus'") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(idle_rules) {
    auto none = parse("slots = 1\n");
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->maxOtherCpu == 0u);
    BOOST_TEST(!none->suspendWhenUserActive);
    auto cfg = parse("slots = 1\n[idle]\nmax_other_cpu = 50\nwhen_user_active = true\n");
    BOOST_REQUIRE_MESSAGE(cfg.has_value(), (cfg ? "" : cfg.error().what));
    BOOST_TEST(cfg->maxOtherCpu == 50u);
    BOOST_TEST(cfg->suspendWhenUserActive);
    for (const char* value : {"0", "101", "\"50\"", "50.5", "-1", "true"}) {
        auto bad = parse(std::string("slots = 1\n\n[idle]\nmax_other_cpu = ") + value + "\n");
        BOOST_REQUIRE(!bad.has_value());
        BOOST_TEST(bad.error().what.ends_with(
                       "worker.toml:4: idle: 'max_other_cpu' must be a whole number from 1 to 100 "
                       "(percent of the whole machine used by other processes that suspends the "
                       "worker)"),
                   value << ": " << bad.error().what);
    }
    auto flag = parse("[idle]\nwhen_user_active = \"yes\"\n");
    BOOST_REQUIRE(!flag.has_value());
    BOOST_TEST(flag.error().what.ends_with(
        "worker.toml:2: idle: 'when_user_active' must be true or false"));
    auto unknown = parse("[idle]\nmax_cpu = 5\n");
    BOOST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error().what.ends_with(
        "worker.toml:2: idle: unknown key 'max_cpu' (use max_other_cpu or when_user_active)"));
    auto notTable = parse("idle = 5\n");
    BOOST_REQUIRE(!notTable.has_value());
    BOOST_TEST(notTable.error().what.ends_with("worker.toml:1: 'idle' must be a table ([idle])"));
}

BOOST_AUTO_TEST_CASE(disk_limits) {
    auto none = parse("slots = 1\n");
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->imageMaxBytes == 8ull << 30);
    BOOST_TEST(none->imageMaxAgeMs == std::int64_t{7} * 24 * 3600 * 1000);
    BOOST_TEST(none->blobMaxAgeMs == std::int64_t{7} * 24 * 3600 * 1000);
    auto cfg = parse("[disk]\nmax_image_bytes = \"2G\"\nmax_image_age = \"3d\"\n"
                     "max_blob_bytes = \"512M\"\nmax_blob_age = \"12h\"\n");
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(cfg->imageMaxBytes == 2ull << 30);
    BOOST_TEST(cfg->imageMaxAgeMs == 3 * 24 * 3600 * 1000);
    BOOST_TEST(cfg->cacheBytes == 512ull << 20);
    BOOST_TEST(cfg->blobMaxAgeMs == 12 * 3600 * 1000);
    auto badSize = parse("[disk]\n\nmax_image_bytes = \"lots\"\n");
    BOOST_REQUIRE(!badSize.has_value());
    BOOST_TEST(badSize.error().what.ends_with(
        "worker.toml:3: disk: 'max_image_bytes' must be a size like \"512M\" or \"8G\""));
    auto badAge = parse("[disk]\nmax_blob_age = 0\n");
    BOOST_REQUIRE(!badAge.has_value());
    BOOST_TEST(badAge.error().what.find("worker.toml:2: disk: 'max_blob_age' must be a duration") !=
               std::string::npos);
    auto unknown = parse("[disk]\nmax_held = 1\n");
    BOOST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error().what.find("worker.toml:2: disk: unknown key 'max_held'") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(errors_name_the_line) {
    auto bad = [](const std::string& text) {
        auto cfg = parse(text);
        BOOST_REQUIRE(!cfg);
        return cfg.error().what;
    };
    BOOST_TEST(bad("slots = 2\nslotz = 3\n").find("worker.toml:2: unknown key 'slotz'") !=
               std::string::npos);
    BOOST_TEST(bad("slots = 0\n").find(":1: 'slots'") != std::string::npos);
    BOOST_TEST(bad("\nmemory_per_slot = \"lots\"\n").find(":2:") != std::string::npos);
    BOOST_TEST(bad("pull_images = \"yes\"\n").find("true or false") != std::string::npos);
    BOOST_TEST(bad("allowed_images = \"localhost/*\"\n").find("list of strings") !=
               std::string::npos);
    BOOST_TEST(bad("slots = [\n").find("worker.toml:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shares_weigh_submitters_by_alias_or_peer_id) {
    using namespace swarm::wire;
    const PeerId self(Identity::generate().publicKey());
    const PeerId lab(Identity::generate().publicKey());
    const PeerId other(Identity::generate().publicKey());
    const PeerId stranger(Identity::generate().publicKey());
    TrustList trust;
    BOOST_REQUIRE(trust.add(lab, "lab", self));
    BOOST_REQUIRE(trust.add(other, "", self));
    auto cfg = parse("[shares]\nlab = 300\n" + other.str() + " = 50\n");
    BOOST_REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().what));
    BOOST_TEST(checkShares(*cfg, trust).has_value());
    BOOST_TEST(shareOf(*cfg, lab.str(), "lab") == 300u);
    BOOST_TEST(shareOf(*cfg, other.str(), "") == 50u);
    BOOST_TEST(shareOf(*cfg, stranger.str(), "") == kDefaultShare);
    // A key naming nobody on the trust list is a mistake worth stopping for
    // (a typo would silently give the submitter the default share).
    auto typo = parse("[shares]\nlba = 300\n");
    BOOST_REQUIRE(typo);
    auto checked = checkShares(*typo, trust);
    BOOST_REQUIRE(!checked);
    BOOST_TEST(checked.error().what.find("'lba'") != std::string::npos, checked.error().what);
    auto zero = parse("[shares]\nlab = 0\n");
    BOOST_REQUIRE(!zero);
    BOOST_TEST(zero.error().what.find("worker.toml:2: shares: 'lab' must be a whole number") !=
                   std::string::npos,
               zero.error().what);
    BOOST_TEST(!parse("shares = 3\n").has_value());
}

BOOST_AUTO_TEST_CASE(image_policy) {
    std::vector<std::string> allowed{"localhost/*", "quay.io/lab/tool@sha256:ab"};
    BOOST_TEST(imageAllowed("localhost/swarm-test:latest", allowed));
    BOOST_TEST(imageAllowed("quay.io/lab/tool@sha256:ab", allowed));
    BOOST_TEST(!imageAllowed("quay.io/lab/tool:latest", allowed));
    BOOST_TEST(!imageAllowed("docker.io/library/alpine", allowed));
    BOOST_TEST(!imageAllowed("localhostile/x", allowed)); // the prefix ends at the slash
    BOOST_TEST(!imageAllowed("anything", {}));
}

BOOST_AUTO_TEST_SUITE_END()

#include "sandbox/image_ledger.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::sandbox;

namespace {
constexpr std::int64_t kHour = 3600 * 1000;

KeptImage kept(std::string name, std::uint64_t bytes, std::int64_t lastUsedMs, int running = 0) {
    return KeptImage{std::move(name), "id-" + name, bytes, lastUsedMs, running};
}
} // namespace

BOOST_AUTO_TEST_SUITE(image_ledger)

BOOST_AUTO_TEST_CASE(images_unused_too_long_go_first) {
    const ImageLimits limits{.maxAgeMs = 24 * kHour, .maxBytes = 1000};
    const std::int64_t now = 100 * kHour;
    std::vector<KeptImage> all{kept("old", 10, now - 30 * kHour), kept("new", 10, now - kHour),
                               kept("older", 10, now - 50 * kHour)};
    BOOST_TEST(imagesToRemove(all, limits, now) == (std::vector<std::string>{"older", "old"}));
    // Exactly at the age limit it stays.
    BOOST_TEST(imagesToRemove({kept("edge", 10, now - 24 * kHour)}, limits, now).empty());
}

BOOST_AUTO_TEST_CASE(over_the_size_limit_least_recently_used_go_until_under) {
    const ImageLimits limits{.maxAgeMs = 1000 * kHour, .maxBytes = 250};
    const std::int64_t now = 100 * kHour;
    std::vector<KeptImage> all{kept("a", 100, now - 3 * kHour), kept("b", 100, now - 2 * kHour),
                               kept("c", 100, now - 1 * kHour), kept("d", 100, now)};
    // 400 bytes: a and b go (then 200 <= 250).
    BOOST_TEST(imagesToRemove(all, limits, now) == (std::vector<std::string>{"a", "b"}));
    BOOST_TEST(imagesToRemove(all, {.maxAgeMs = 1000 * kHour, .maxBytes = 400}, now).empty());
}

BOOST_AUTO_TEST_CASE(an_image_a_unit_runs_always_stays) {
    const ImageLimits limits{.maxAgeMs = kHour, .maxBytes = 100};
    const std::int64_t now = 100 * kHour;
    std::vector<KeptImage> all{kept("busy", 500, now - 50 * kHour, 1),
                               kept("idle", 50, now - 2 * kHour), kept("fresh", 60, now)};
    // busy is too old and too big but running: idle goes for its age, then
    // fresh for the size (busy's 500 bytes keep the total over the limit).
    BOOST_TEST(imagesToRemove(all, limits, now) == (std::vector<std::string>{"idle", "fresh"}));
}

BOOST_AUTO_TEST_CASE(the_record_survives_a_restart_and_collect_removes_through_the_remover) {
    swarm::test::TempDir dir;
    const auto file = dir.path() / "images.tsv";
    {
        ImageLedger ledger(file);
        ledger.loaded("localhost/swarm-shipped/a:1", "id1", 100, 1000);
        ledger.loaded("localhost/swarm-shipped/b:2", "id2", 200, 2000);
        ledger.started("id2", 5000);
        ledger.started("not-ours", 5000); // ignored
        BOOST_TEST(!ledger.takeEnded());
        ledger.ended("id2", 6000);
        BOOST_TEST(ledger.takeEnded());
        BOOST_TEST(!ledger.takeEnded());
    }
    ImageLedger ledger(file);
    auto images = ledger.images();
    BOOST_REQUIRE(images.size() == 2u);
    BOOST_TEST(images[1].id == "id2");
    BOOST_TEST(images[1].lastUsedMs == 6000);
    BOOST_TEST(images[1].running == 0);
    BOOST_TEST(ledger.bytes() == 300u);
    std::vector<std::string> asked;
    // a is too old; b stays in use (the remover says a container uses it).
    auto removed = ledger.collect({.maxAgeMs = 1000, .maxBytes = 1 << 20}, 10'000,
                                  [&](const std::string& name) {
                                      asked.push_back(name);
                                      return name.find("/a:") != std::string::npos;
                                  });
    BOOST_TEST(asked.size() == 2u);
    BOOST_REQUIRE(removed.size() == 1u);
    BOOST_TEST(removed[0].name == "localhost/swarm-shipped/a:1");
    BOOST_TEST(ImageLedger(file).images().size() == 1u);
    // A remover that fails keeps the record as it was.
    BOOST_CHECK_THROW(
        ledger.collect({.maxAgeMs = 1, .maxBytes = 1}, 20'000,
                       [](const std::string&) -> bool { throw std::runtime_error("podman gone"); }),
        std::runtime_error);
    BOOST_TEST(ImageLedger(file).images().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

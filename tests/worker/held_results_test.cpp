#include "worker/held_results.hpp"

#include "net/blob_transfer.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

using namespace swarm;
using namespace swarm::worker;
using swarm::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Output blobs as a cache would hold them: files named by digest.
struct Cache {
    TempDir dir{"held-cache"};
    std::map<wire::Digest, fs::path> files;

    wire::FileRef add(const std::string& name, const std::string& content) {
        const auto d = wire::sha256(wire::asBytes(content));
        files[d] = dir.write(wire::toHex(d.bytes), content);
        wire::FileRef f;
        f.name = name;
        f.digest = net::toRaw(d);
        f.size = content.size();
        return f;
    }
    HeldResults::BlobSource source() {
        return [this](const wire::Digest& d) { return files.at(d); };
    }
};

wire::Result resultOf(const std::string& unit, std::vector<wire::FileRef> outputs) {
    wire::Result r;
    r.unitId = unit;
    r.replica = 1;
    r.exitCode = 0;
    r.wallMs = 8000;
    r.outputs = std::move(outputs);
    return r;
}

const std::string kSub = "sub-a";
const std::string kBatch = "0123456789abcdef0123456789abcdef";

std::size_t filesIn(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        n += e.is_regular_file();
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(held_results)

BOOST_AUTO_TEST_CASE(kept_results_survive_a_restart_and_go_to_their_batch_only) {
    TempDir home;
    Cache cache;
    wire::ManualClock clock;
    const auto out = cache.add("stdout", "hello\n");
    const auto err = cache.add("stderr", "");
    {
        HeldResults held(home / "held", {}, clock);
        BOOST_TEST(held.keep(resultOf("u1", {out, err}), kSub, kBatch, cache.source()));
        BOOST_TEST(held.count() == 1u);
        // 6 bytes of outputs, and the record: 256 + the unit id + 64 and the
        // name per output.
        BOOST_TEST(held.bytes() == 6u + 256 + 2 + (64 + 6) * 2);
        BOOST_TEST(
            ((fs::status(home / "held").permissions() & fs::perms::all) == fs::perms::owner_all));
    }
    // The cache evicts the outputs meanwhile: the held copies stay.
    for (const auto& [d, path] : cache.files)
        fs::remove(path);
    HeldResults held(home / "held", {}, clock); // a restarted worker
    BOOST_TEST(held.count() == 1u);
    BOOST_TEST(held.claim(kSub, "ffffffffffffffffffffffffffffffff").empty()); // another job's run
    BOOST_TEST(held.claim("sub-b", kBatch).empty());                          // another submitter
    auto claimed = held.claim(kSub, kBatch);
    BOOST_REQUIRE(claimed.size() == 1u);
    BOOST_TEST(claimed[0].result.unitId == "u1");
    BOOST_TEST(claimed[0].result.wallMs == 8000);
    BOOST_TEST(claimed[0].result.outputs.size() == 2u);
    BOOST_TEST(held.claim(kSub, kBatch).empty()); // claimed: not handed out twice
    auto file = held.openBlob(net::toDigest(out.digest));
    BOOST_REQUIRE(file.has_value());
    BOOST_TEST(file->size == 6u);
    held.release(claimed[0].id); // the session broke: held again
    claimed = held.claim(kSub, kBatch);
    BOOST_REQUIRE(claimed.size() == 1u);
    held.delivered(claimed[0].id);
    BOOST_TEST(held.count() == 0u);
    BOOST_TEST(filesIn(home / "held") == 0u);
    BOOST_TEST(filesIn(home / "held" / "blobs") == 0u);
}

BOOST_AUTO_TEST_CASE(the_oldest_go_first_past_the_age_or_byte_limit) {
    TempDir home;
    Cache cache;
    wire::ManualClock clock;
    // Each result below costs 4 bytes of output and a record of 256 + 2 + 64
    // + 6: 332 bytes; two fit in 700.
    HeldResults held(home / "held", HeldLimits{.maxAgeMs = 60'000, .maxBytes = 700}, clock);
    BOOST_TEST(
        held.keep(resultOf("u1", {cache.add("stdout", "1234")}), kSub, kBatch, cache.source()));
    clock.advance(1000);
    BOOST_TEST(
        held.keep(resultOf("u2", {cache.add("stdout", "abcd")}), kSub, kBatch, cache.source()));
    clock.advance(1000);
    // 996 bytes would be over the limit of 700: u1, the oldest, goes.
    BOOST_TEST(
        held.keep(resultOf("u3", {cache.add("stdout", "wxyz")}), kSub, kBatch, cache.source()));
    BOOST_TEST(held.count() == 2u);
    BOOST_TEST(held.bytes() == 664u);
    auto left = held.claim(kSub, kBatch);
    BOOST_REQUIRE(left.size() == 2u);
    BOOST_TEST(left[0].result.unitId == "u2");
    BOOST_TEST(left[1].result.unitId == "u3");
    for (const auto& h : left)
        held.release(h.id);
    BOOST_TEST(filesIn(home / "held" / "blobs") == 2u); // u1's blob went with it
    clock.advance(59'500);                              // u2 is 60.5 s old, u3 59.5 s
    held.expire();
    BOOST_TEST(held.count() == 1u);
    clock.advance(1000);
    held.expire();
    BOOST_TEST(held.count() == 0u);
    BOOST_TEST(filesIn(home / "held" / "blobs") == 0u);
}

BOOST_AUTO_TEST_CASE(a_blob_two_results_share_stays_until_both_are_gone) {
    TempDir home;
    Cache cache;
    wire::ManualClock clock;
    HeldResults held(home / "held", {}, clock);
    const auto same = cache.add("stdout", "same");
    BOOST_TEST(held.keep(resultOf("u1", {same}), kSub, kBatch, cache.source()));
    BOOST_TEST(held.keep(resultOf("u2", {same}), kSub, kBatch, cache.source()));
    auto both = held.claim(kSub, kBatch);
    BOOST_REQUIRE(both.size() == 2u);
    held.delivered(both[0].id);
    BOOST_TEST(held.openBlob(net::toDigest(same.digest)).has_value());
    held.delivered(both[1].id);
    BOOST_TEST(!held.openBlob(net::toDigest(same.digest)).has_value());
}

BOOST_AUTO_TEST_CASE(what_a_crash_left_half_written_is_removed_at_start) {
    TempDir home;
    Cache cache;
    wire::ManualClock clock;
    const auto out = cache.add("stdout", "kept");
    {
        HeldResults held(home / "held", {}, clock);
        BOOST_TEST(held.keep(resultOf("u1", {out}), kSub, kBatch, cache.source()));
    }
    const auto dir = home / "held";
    // A record being written (never renamed), a record cut short, a record
    // whose blob is gone, and a blob whose record never came.
    std::ofstream(dir / ".partial-0011223344556677") << "half";
    std::ofstream(dir / "cut.held") << "\x85\xa7version";
    {
        auto lost = cache.add("stdout", "lost");
        HeldResults other(home / "other", {}, clock);
        BOOST_TEST(other.keep(resultOf("u2", {lost}), kSub, kBatch, cache.source()));
        for (const auto& e : fs::directory_iterator(home / "other"))
            if (e.path().extension() == ".held")
                fs::copy_file(e.path(), dir / "noblob.held");
    }
    std::ofstream(dir / "blobs" / std::string(64, 'a')) << "orphan";

    HeldResults held(dir, {}, clock);
    BOOST_TEST(held.count() == 1u);
    BOOST_TEST(!fs::exists(dir / ".partial-0011223344556677"));
    BOOST_TEST(!fs::exists(dir / "cut.held"));
    BOOST_TEST(!fs::exists(dir / "noblob.held"));
    BOOST_TEST(!fs::exists(dir / "blobs" / std::string(64, 'a')));
    auto claimed = held.claim(kSub, kBatch);
    BOOST_REQUIRE(claimed.size() == 1u);
    BOOST_TEST(claimed[0].result.unitId == "u1");
    BOOST_TEST(held.openBlob(net::toDigest(out.digest)).has_value());
}

BOOST_AUTO_TEST_CASE(a_result_whose_blob_cannot_be_stored_is_not_kept) {
    TempDir home;
    Cache cache;
    wire::ManualClock clock;
    HeldResults held(home / "held", {}, clock);
    auto out = cache.add("stdout", "gone");
    fs::remove(cache.files.begin()->second); // evicted before it could be kept
    BOOST_TEST(!held.keep(resultOf("u1", {out}), kSub, kBatch, cache.source()));
    BOOST_TEST(held.count() == 0u);
    BOOST_TEST(filesIn(home / "held") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

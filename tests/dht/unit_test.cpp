#include "dht/announcer.hpp"
#include "dht/bootstrap.hpp"
#include "dht/node.hpp"
#include "dht/offer_box.hpp"
#include "dht/worker_table.hpp"
#include "test_support.hpp"
#include "wire/clock.hpp"

#include <random>

#include <boost/test/unit_test.hpp>

using namespace swarm;
using namespace swarm::dht;
using namespace swarm::dht::test;
using Outcome = WorkerTable::Outcome;

BOOST_AUTO_TEST_SUITE(bootstrap_list)

BOOST_AUTO_TEST_CASE(parses_host_port_forms) {
    auto a = parseHostPort("node.example.org:4333");
    BOOST_REQUIRE(a);
    BOOST_TEST(a->host == "node.example.org");
    BOOST_TEST(a->port == 4333);
    auto b = parseHostPort("10.0.0.1");
    BOOST_REQUIRE(b);
    BOOST_TEST(b->port == kDefaultDhtPort);
    auto c = parseHostPort("[::1]:5000");
    BOOST_REQUIRE(c);
    BOOST_TEST(c->host == "::1");
    BOOST_TEST(c->str() == "[::1]:5000");
    for (auto bad : {"", ":4222", "host:", "host:0", "host:70000", "host:12x", "::1:4222", "[::1"})
        BOOST_TEST(!parseHostPort(bad), bad);
}

BOOST_AUTO_TEST_CASE(merges_flags_config_env_without_duplicates) {
    auto r = mergeBootstrap({"a:1", "b:2"}, {"b:2", "c:3"}, std::string("c:3, d:4 e"));
    BOOST_REQUIRE(r);
    std::vector<std::string> got;
    for (const auto& hp : *r)
        got.push_back(hp.str());
    std::vector<std::string> want{"a:1", "b:2", "c:3", "d:4", "e:4222"};
    BOOST_TEST(got == want, boost::test_tools::per_element());
    auto none = mergeBootstrap({}, {}, std::nullopt);
    BOOST_REQUIRE(none);
    BOOST_TEST(none->empty());
    auto bad = mergeBootstrap({}, {}, std::string("ok:1,bad:port"));
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().what.find("SWARM_BOOTSTRAP") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(swarm_names) {
    BOOST_TEST(validSwarmName("default"));
    BOOST_TEST(validSwarmName("lab-2.test_x"));
    BOOST_TEST(!validSwarmName(""));
    BOOST_TEST(!validSwarmName("Upper"));
    BOOST_TEST(!validSwarmName("a/b"));
    BOOST_TEST(workersKeyText("x") == "swarm/v1/x/workers");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(worker_table)

struct TableFixture {
    wire::ManualClock clock;
    wire::Identity w1 = identityN(1);
    wire::Identity w2 = identityN(2);
    wire::Identity stranger = identityN(9);
    WorkerTable table{"default", trustOf({&w1, &w2})};

    wire::Bytes record(const wire::Identity& id, std::uint64_t seq, std::uint32_t cores = 4,
                       std::int64_t issuedOffset = 0, std::int64_t lifetime = 300'000,
                       bool withdrawn = false, std::string_view swarm = "default") {
        auto r = sampleRecord(cores);
        r.peerId = idOf(id);
        r.sequence = seq;
        r.withdrawn = withdrawn;
        return signRecordAs(id, r, swarm, clock.nowMs() + issuedOffset, lifetime);
    }
};

BOOST_FIXTURE_TEST_CASE(accepts_trusted_and_keeps_newest, TableFixture) {
    BOOST_TEST((table.ingest(record(w1, 10, 4), clock.nowMs()).outcome == Outcome::kAdded));
    BOOST_TEST((table.ingest(record(w1, 11, 8), clock.nowMs()).outcome == Outcome::kUpdated));
    auto live = table.live(clock.nowMs());
    BOOST_REQUIRE(live.size() == 1u);
    BOOST_TEST(live[0].record.cores == 8u);
    BOOST_TEST(live[0].name == "p0");
    BOOST_TEST(live[0].id.str() == idOf(w1));
}

BOOST_FIXTURE_TEST_CASE(counts_each_reason, TableFixture) {
    auto now = clock.nowMs();
    BOOST_REQUIRE((table.ingest(record(w1, 10), now).outcome == Outcome::kAdded));

    // Untrusted but valid.
    auto r1 = table.ingest(record(stranger, 1), now);
    BOOST_TEST((r1.reason == SkipReason::kUntrusted));
    // Signed by a stranger, claiming w1's id.
    auto forged = sampleRecord(64);
    forged.peerId = idOf(w1);
    forged.sequence = 99;
    auto r2 = table.ingest(signRecordAs(stranger, forged, "default", now, 300'000), now);
    BOOST_TEST((r2.reason == SkipReason::kSignerMismatch));
    // Expired.
    auto r3 = table.ingest(record(w1, 50, 4, -600'000, 300'000), now);
    BOOST_TEST((r3.reason == SkipReason::kExpired));
    // Older sequence.
    auto r4 = table.ingest(record(w1, 9), now);
    BOOST_TEST((r4.reason == SkipReason::kStale));
    // From the future.
    auto r5 = table.ingest(record(w1, 51, 4, 3'600'000), now);
    BOOST_TEST((r5.reason == SkipReason::kFromFuture));
    // Another swarm.
    auto r6 = table.ingest(record(w1, 52, 4, 0, 300'000, false, "other"), now);
    BOOST_TEST((r6.reason == SkipReason::kForeign));
    // Junk.
    wire::Bytes junk{'n', 'o', 't', ' ', 'a', 'n', ' ', 'e', 'n', 'v', 'e', 'l', 'o', 'p', 'e'};
    BOOST_TEST((table.ingest(junk, now).reason == SkipReason::kMalformed));
    // Junk whose msgpack header claims a huge array: still junk.
    wire::Bytes liar{0xdd, 0x7f, 0xff, 0xff, 0xff, 0x00};
    BOOST_TEST((table.ingest(liar, now).reason == SkipReason::kMalformed));
    // Random bytes, whatever their first byte.
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        wire::Bytes random(1 + rng() % 300);
        for (auto& b : random)
            b = static_cast<std::uint8_t>(rng());
        auto r = table.ingest(random, now);
        BOOST_TEST((r.outcome == Outcome::kDuplicate || r.reason == SkipReason::kMalformed));
    }
    // A flipped signature byte.
    auto tampered = record(w1, 53);
    tampered.back() ^= 1;
    BOOST_TEST((table.ingest(tampered, now).reason == SkipReason::kBadSignature));

    for (auto reason : {SkipReason::kUntrusted, SkipReason::kSignerMismatch, SkipReason::kExpired,
                        SkipReason::kStale, SkipReason::kFromFuture, SkipReason::kForeign,
                        SkipReason::kBadSignature})
        BOOST_TEST(table.skipped(reason) == 1u, reasonName(reason));
    auto live = table.live(now);
    BOOST_REQUIRE(live.size() == 1u);
    BOOST_TEST(live[0].record.sequence == 10u);
    BOOST_TEST(live[0].record.cores == 4u);
}

BOOST_FIXTURE_TEST_CASE(duplicates_are_not_recounted, TableFixture) {
    auto v = record(stranger, 1);
    BOOST_TEST((table.ingest(v, clock.nowMs()).outcome == Outcome::kSkipped));
    BOOST_TEST((table.ingest(v, clock.nowMs()).outcome == Outcome::kDuplicate));
    BOOST_TEST(table.skipped(SkipReason::kUntrusted) == 1u);
    BOOST_TEST(table.distinctValues() == 1u);
}

BOOST_FIXTURE_TEST_CASE(tombstone_and_expiry_remove_workers, TableFixture) {
    BOOST_REQUIRE((table.ingest(record(w1, 10), clock.nowMs()).outcome == Outcome::kAdded));
    BOOST_REQUIRE((table.ingest(record(w2, 10), clock.nowMs()).outcome == Outcome::kAdded));
    BOOST_TEST(table.live(clock.nowMs()).size() == 2u);
    auto tomb = record(w1, 11, 4, 0, 300'000, true);
    BOOST_TEST((table.ingest(tomb, clock.nowMs()).outcome == Outcome::kWithdrawn));
    auto live = table.live(clock.nowMs());
    BOOST_REQUIRE(live.size() == 1u);
    BOOST_TEST(live[0].id.str() == idOf(w2));
    // The pre-tombstone record, replayed, does not resurrect w1.
    BOOST_TEST((table.ingest(record(w1, 10, 2), clock.nowMs()).reason == SkipReason::kStale));
    // A newer record after the tombstone does (the worker came back).
    BOOST_TEST((table.ingest(record(w1, 12), clock.nowMs()).outcome == Outcome::kAdded));
    // Records age out with their envelope.
    clock.advance(300'001);
    BOOST_TEST(table.live(clock.nowMs()).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(capacity_record)

BOOST_AUTO_TEST_CASE(value_stays_well_under_600_bytes) {
    auto id = identityN(3);
    // A typical record: default swarm, two labels, a millisecond sequence.
    auto typical = sampleRecord(8);
    typical.sequence = 1'700'000'000'000;
    auto t = encodeCapacity(id, "default", typical, 1'700'000'000'000, 300'000);
    BOOST_REQUIRE(t);
    BOOST_TEST_MESSAGE("typical capacity record: " << Node::packedValueSize(*t)
                                                   << " B as a DHT value");
    BOOST_TEST(Node::packedValueSize(*t) <= 540u);

    // Every number at its widest, a long swarm name, longer strings.
    auto rec = sampleRecord(128);
    rec.memoryBytes = ~0ULL;
    rec.slots = rec.freeSlots = 0xffffffffu;
    rec.sequence = ~0ULL;
    rec.arch = "aarch64";
    rec.podman = "4.3.1-debian";
    rec.software = "0.1.0-rc1";
    rec.isolation = {true, true, true, true, true, true, true};
    auto bytes =
        encodeCapacity(id, "a-long-swarm-name-for-testing", rec, 1'700'000'000'000, 300'000);
    BOOST_REQUIRE_MESSAGE(bytes, (bytes ? std::string() : bytes.error().what));
    auto size = Node::packedValueSize(*bytes);
    BOOST_TEST_MESSAGE("capacity record: " << bytes->size() << " B envelope, " << size
                                           << " B as a DHT value");
    BOOST_TEST(size <= kMaxRecordValueBytes);
    BOOST_TEST(size < 600u);

    rec.labels.assign(20, "a-rather-long-label-value");
    auto big = encodeCapacity(id, "default", rec, 1'700'000'000'000, 300'000);
    BOOST_REQUIRE(!big);
    BOOST_TEST((big.error().code == wire::Error::Code::kTooLarge));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(offer_box)

struct OfferFixture {
    wire::ManualClock clock;
    wire::Identity worker = identityN(1);
    wire::Identity other = identityN(2);
    wire::Identity submitter = identityN(5);
    wire::Identity stranger = identityN(6);
    OfferBox box{worker, "default", trustOf({&submitter})};
};

BOOST_FIXTURE_TEST_CASE(accepts_a_trusted_offer_once, OfferFixture) {
    auto offer = sampleOffer(submitter, worker);
    auto inner = signOffer(submitter, offer, "default", clock.nowMs(), 120'000);
    auto r = box.open(wire::sealTo(worker.publicKey(), inner), clock.nowMs());
    BOOST_REQUIRE(r);
    BOOST_TEST(r->submitter.str() == idOf(submitter));
    BOOST_TEST(r->submitterName == "p0");
    BOOST_TEST(r->offer.endpoints.at(0) == "127.0.0.1:7000");
    BOOST_TEST(r->offer.token[0] == 7);
    // Re-sealed by anyone: the signed offer itself is a replay.
    auto again = box.open(wire::sealTo(worker.publicKey(), inner), clock.nowMs());
    BOOST_REQUIRE(!again);
    BOOST_TEST((again.error() == OfferRefusal::kReplayed));
    BOOST_TEST(box.accepted() == 1u);
}

BOOST_FIXTURE_TEST_CASE(refuses_with_reasons, OfferFixture) {
    auto now = clock.nowMs();
    auto expect = [&](const wire::Bytes& sealed, OfferRefusal want) {
        auto r = box.open(sealed, now);
        BOOST_REQUIRE(!r);
        BOOST_TEST((r.error() == want), refusalName(want));
    };
    expect(sealOffer(stranger, worker.publicKey(), "default", {}, now), OfferRefusal::kUntrusted);
    expect(sealOffer(submitter, other.publicKey(), "default", {}, now), OfferRefusal::kNotForUs);
    expect(sealOffer(submitter, worker.publicKey(), "default", {}, now - 600'000, 120'000),
           OfferRefusal::kExpired);
    expect(sealOffer(submitter, worker.publicKey(), "other", {}, now), OfferRefusal::kForeign);
    auto wrong = sampleOffer(submitter, other);
    expect(wire::sealTo(worker.publicKey(), signOffer(submitter, wrong, "default", now, 60'000)),
           OfferRefusal::kWrongWorker);
    auto claim = sampleOffer(submitter, worker);
    expect(wire::sealTo(worker.publicKey(), signOffer(stranger, claim, "default", now, 60'000)),
           OfferRefusal::kSignerMismatch);
    expect(wire::sealTo(worker.publicKey(), wire::Bytes{1, 2, 3}), OfferRefusal::kMalformed);
    expect(wire::Bytes(100, 0x55), OfferRefusal::kNotForUs);
    BOOST_TEST(box.accepted() == 0u);
    // And a good one still goes through.
    BOOST_TEST(
        box.open(sealOffer(submitter, worker.publicKey(), "default", {}, now), now).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

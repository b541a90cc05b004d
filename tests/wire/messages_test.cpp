#include "wire/messages.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::wire;

BOOST_AUTO_TEST_SUITE(messages)

BOOST_AUTO_TEST_CASE(assign_round_trip) {
    Assign a;
    a.unitId = "u-001";
    a.replica = 2;
    a.image = "localhost/swarm-test:latest";
    a.command = {"sh", "-c", "wc -l input.txt > out/count"};
    a.env = {{"LANG", "C"}};
    a.inputs = {FileRef{"input.txt", RawDigest{1, 2, 3}, 42}};
    a.outputs = {"out"};
    a.timeoutMs = 30'000;
    auto raw = decodeMessage(encodeMessage(a));
    BOOST_REQUIRE(raw);
    BOOST_TEST((raw->type == MsgType::kAssign));
    auto back = bodyAs<Assign>(*raw);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->unitId == "u-001");
    BOOST_TEST(back->command.size() == 3u);
    BOOST_TEST(back->inputs.at(0).size == 42u);
    BOOST_TEST((back->inputs.at(0).digest == a.inputs[0].digest));
}

BOOST_AUTO_TEST_CASE(every_type_round_trips) {
    auto check = [](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        auto raw = decodeMessage(encodeMessage(msg));
        BOOST_REQUIRE(raw);
        BOOST_TEST((raw->type == T::kType));
        BOOST_TEST(bodyAs<T>(*raw).has_value());
    };
    check(Hello{});
    check(RequestWork{});
    check(Assign{.unitId = "u", .image = "localhost/t:1", .command = {"true"}});
    check(NeedBlobs{.digests = {RawDigest{1}}});
    check(BlobChunk{.digest = RawDigest{1}, .total = 100, .data = Bytes(100, 1)});
    check(Progress{.unitId = "u", .state = "running"});
    check(Result{.unitId = "u", .outputs = {FileRef{"stdout", {}, 0}}});
    check(Cancel{.unitId = "u"});
    check(Bye{.givenBack = {"u1/0"}});
    check(ErrorMsg{});
    check(NoWork{.slots = 3});
    check(WorkReady{});
}

BOOST_AUTO_TEST_CASE(hello_version_says_whether_the_worker_understands_no_work) {
    // A submitter sends no-work and work-ready only to a worker whose hello
    // says so; an older worker would end the session on the unknown type,
    // and a hello without a version is an old worker's.
    auto old = pack(std::make_tuple(static_cast<int>(MsgType::kHello),
                                    std::map<std::string, int>{{"slots", 2}}));
    auto h = decodeMessage(old);
    BOOST_REQUIRE(h);
    BOOST_TEST(bodyAs<Hello>(*h)->version < Hello::kWithNoWork);
    auto raw = decodeMessage(encodeMessage(NoWork{.slots = 2}));
    BOOST_REQUIRE(raw);
    BOOST_TEST(std::string(msgTypeName(raw->type)) == "no-work");
    BOOST_TEST(bodyAs<NoWork>(*raw)->slots == 2u);
    auto past = pack(std::make_tuple(static_cast<int>(kLastMsgType) + 1,
                                     std::map<std::string, int>{{"version", 1}}));
    BOOST_TEST((decodeMessage(past).error().code == Error::Code::kUnknownType));
}

BOOST_AUTO_TEST_CASE(wrong_type_and_shapes_are_errors) {
    auto raw = decodeMessage(encodeMessage(Hello{}));
    BOOST_REQUIRE(raw);
    BOOST_TEST(!bodyAs<Result>(*raw).has_value());

    // Unknown type number.
    auto unknown = pack(std::make_tuple(99, std::map<std::string, int>{}));
    BOOST_TEST((decodeMessage(unknown).error().code == Error::Code::kUnknownType));
    // Body not a map.
    auto notMap = pack(std::make_tuple(1, 5));
    BOOST_TEST((decodeMessage(notMap).error().code == Error::Code::kMalformed));
    // Field of the wrong type: unitId as an integer.
    auto badField =
        pack(std::make_tuple(static_cast<int>(MsgType::kResult), std::map<std::string, int>{
                                                                     {"version", 1},
                                                                     {"unitId", 5},
                                                                 }));
    auto r = decodeMessage(badField);
    BOOST_REQUIRE(r);
    BOOST_TEST(!bodyAs<Result>(*r).has_value());
    // A token longer than its fixed size.
    auto badToken = pack(std::make_tuple(static_cast<int>(MsgType::kHello),
                                         std::map<std::string, Bytes>{{"token", Bytes(17, 1)}}));
    auto h = decodeMessage(badToken);
    BOOST_REQUIRE(h);
    BOOST_TEST(!bodyAs<Hello>(*h).has_value());
    // Version 0 is not a schema we speak.
    auto v0 = pack(std::make_tuple(static_cast<int>(MsgType::kBye),
                                   std::map<std::string, int>{{"version", 0}}));
    auto b = decodeMessage(v0);
    BOOST_REQUIRE(b);
    BOOST_TEST((bodyAs<Bye>(*b).error().code == Error::Code::kUnknownType));
}

BOOST_AUTO_TEST_CASE(missing_and_extra_fields_are_tolerated) {
    // Named maps let a newer peer add fields and an older one omit them.
    auto raw = pack(std::make_tuple(static_cast<int>(MsgType::kRequestWork),
                                    std::map<std::string, int>{{"version", 1}, {"future", 7}}));
    auto r = decodeMessage(raw);
    BOOST_REQUIRE(r);
    auto w = bodyAs<RequestWork>(*r);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->slots == 1u);
}

namespace {
// A capacity record as workers before the reach field wrote it.
struct CapacityRecordBeforeReach {
    std::uint32_t version = 1;
    std::string peerId;
    std::uint64_t sequence = 0;
    std::uint32_t cores = 0;
    std::uint64_t memoryBytes = 0;
    std::uint32_t slots = 0;
    std::uint32_t freeSlots = 0;
    std::string arch;
    std::string os;
    std::vector<std::string> labels;
    std::string podman;
    bool rootless = false;
    Isolation isolation;
    std::string software;
    bool withdrawn = false;
    std::vector<std::string> relays;
    MSGPACK_DEFINE_MAP(version, peerId, sequence, cores, memoryBytes, slots, freeSlots, arch, os,
                       labels, podman, rootless, isolation, software, withdrawn, relays)
};
} // namespace

BOOST_AUTO_TEST_CASE(capacity_record_without_reach_decodes_as_unknown) {
    CapacityRecordBeforeReach old;
    old.slots = 4;
    old.freeSlots = 3;
    old.relays = {"203.0.113.3:7400"};
    auto obj = unpackBounded(pack(old));
    BOOST_REQUIRE(obj);
    auto rec = convertAs<CapacityRecord>(obj->get(), "capacity");
    BOOST_REQUIRE(rec);
    BOOST_TEST(rec->reach.empty());
    BOOST_TEST(rec->freeSlots == 3u);
    BOOST_TEST(rec->relays == old.relays);

    // And an older reader takes a newer record, ignoring the field.
    CapacityRecord now;
    now.slots = 2;
    now.reach = std::string(kReachBehindNat);
    auto back = unpackBounded(pack(now));
    BOOST_REQUIRE(back);
    auto asOld = convertAs<CapacityRecordBeforeReach>(back->get(), "capacity");
    BOOST_REQUIRE(asOld);
    BOOST_TEST(asOld->slots == 2u);
    auto asNew = convertAs<CapacityRecord>(back->get(), "capacity");
    BOOST_REQUIRE(asNew);
    BOOST_TEST(asNew->reach == "behind-nat");
}

BOOST_AUTO_TEST_CASE(capacity_record_is_small) {
    CapacityRecord rec;
    rec.peerId = PeerId(Identity::generate().publicKey()).str();
    rec.cores = 64;
    rec.memoryBytes = 256ull << 30;
    rec.slots = 64;
    rec.arch = "x86_64";
    rec.os = "linux";
    rec.labels = {"gpu", "bigmem"};
    rec.podman = "4.3.1";
    rec.software = "0.1.0";
    rec.relays = {"203.0.113.3:7400"};
    rec.reach = std::string(kReachBehindNat);
    BOOST_TEST(pack(rec).size() < 400u);
}

BOOST_AUTO_TEST_SUITE_END()

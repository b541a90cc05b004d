// libFuzzer target: everything a peer or the DHT can hand to the wire room.
// The input is read as a frame stream (each frame decoded as a stream
// message of every type) and, whole, as a signed envelope.

#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/messages.hpp"
#include "wire/records.hpp"

#include <sodium.h>

#include <cstddef>
#include <cstdint>

using namespace swarm::wire;

namespace {
template <typename T> void tryBody(const RawMessage& raw) {
    if (raw.type == T::kType)
        (void)bodyAs<T>(raw);
}

void decodeRecords(const Bytes& payload) {
    UnpackLimits limits{.array = 64, .map = 32, .str = 1024, .bin = 1024, .ext = 0, .depth = 4};
    auto handle = unpackBounded(payload, limits);
    if (!handle)
        return;
    (void)convertAs<CapacityRecord>(handle->get(), "capacity");
    (void)convertAs<Offer>(handle->get(), "offer");
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    return sodium_init() < 0 ? 1 : 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);

    FrameReader reader(64 * 1024);
    if (reader.push(input)) {
        while (auto frame = reader.next()) {
            auto raw = decodeMessage(*frame);
            if (!raw)
                continue;
            tryBody<Hello>(*raw);
            tryBody<RequestWork>(*raw);
            tryBody<Assign>(*raw);
            tryBody<NeedBlobs>(*raw);
            tryBody<BlobChunk>(*raw);
            tryBody<Progress>(*raw);
            tryBody<Result>(*raw);
            tryBody<Cancel>(*raw);
            tryBody<Bye>(*raw);
            tryBody<ErrorMsg>(*raw);
            tryBody<NoWork>(*raw);
            tryBody<WorkReady>(*raw);
            tryBody<RelayReserve>(*raw);
            tryBody<RelayReserved>(*raw);
            tryBody<RelayConnect>(*raw);
            tryBody<RelayIncoming>(*raw);
            tryBody<RelayAccept>(*raw);
            tryBody<RelayOpened>(*raw);
            tryBody<RelayData>(*raw);
            tryBody<PunchPlan>(*raw);
            tryBody<PunchResult>(*raw);
            tryBody<Follow>(*raw);
            tryBody<LogChunk>(*raw);
        }
    }

    for (auto type : {EnvelopeType::kCapacity, EnvelopeType::kOffer}) {
        VerifyPolicy policy;
        policy.domain = "swarm/v1/default";
        policy.type = type;
        policy.nowMs = 1'700'000'000'000;
        if (auto env = openEnvelope(input, policy))
            decodeRecords(env->payload);
    }
    // Records are also decoded without a valid signature, so the fuzzer
    // reaches the payload schemas without forging Ed25519.
    decodeRecords(Bytes(input.begin(), input.end()));
    return 0;
}

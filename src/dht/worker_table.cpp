#include "dht/worker_table.hpp"

#include "dht/keys.hpp"
#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/judge.hpp"

namespace swarm::dht {

namespace {
// Distinct values remembered for de-duplication; each get returns every
// value again, and re-verifying or re-counting them would be waste.
constexpr std::size_t kSeenCapacity = 8192;
// A capacity record's payload limit (the whole DHT value stays < 600 B).
constexpr std::size_t kMaxPayload = 1024;
constexpr wire::UnpackLimits kRecordLimits{
    .array = 64, .map = 32, .str = 256, .bin = 64, .ext = 0, .depth = 4};
} // namespace

const char* reasonName(SkipReason reason) noexcept {
    switch (reason) {
    case SkipReason::kMalformed:
        return "malformed";
    case SkipReason::kTooLarge:
        return "too-large";
    case SkipReason::kBadSignature:
        return "bad-signature";
    case SkipReason::kForeign:
        return "foreign";
    case SkipReason::kExpired:
        return "expired";
    case SkipReason::kFromFuture:
        return "from-future";
    case SkipReason::kSignerMismatch:
        return "signer-mismatch";
    case SkipReason::kUntrusted:
        return "untrusted";
    case SkipReason::kStale:
        return "stale";
    }
    return "unknown";
}

WorkerTable::WorkerTable(std::string swarm, wire::TrustList trust, std::int64_t maxSkewMs)
    : swarm_(std::move(swarm)), domain_(swarmDomain(swarm_)), trust_(std::move(trust)),
      maxSkewMs_(maxSkewMs) {}

WorkerTable::Result WorkerTable::skip(SkipReason reason) {
    ++skipped_[static_cast<std::size_t>(reason)];
    return {Outcome::kSkipped, reason};
}

bool WorkerTable::seenBefore(const wire::Digest& digest) {
    if (seen_.contains(digest))
        return true;
    seen_.insert(digest);
    seenOrder_.push_back(digest);
    if (seenOrder_.size() > kSeenCapacity) {
        seen_.erase(seenOrder_.front());
        seenOrder_.pop_front();
    }
    return false;
}

WorkerTable::Result WorkerTable::ingest(wire::ByteView value, std::int64_t nowMs) {
    if (seenBefore(wire::sha256(value)))
        return {Outcome::kDuplicate, std::nullopt};
    ++distinct_;

    wire::VerifyPolicy policy;
    policy.domain = domain_;
    policy.type = wire::EnvelopeType::kCapacity;
    policy.nowMs = nowMs;
    policy.maxSkewMs = maxSkewMs_;
    policy.maxPayload = kMaxPayload;
    auto env = wire::openEnvelope(value, policy);
    if (!env) {
        using C = wire::Error::Code;
        switch (env.error().code) {
        case C::kTooLarge:
            // A value smaller than the payload limit cannot really be too
            // large: a length header in it lies, which is junk.
            return skip(value.size() <= kMaxPayload ? SkipReason::kMalformed
                                                    : SkipReason::kTooLarge);
        case C::kBadSignature:
            return skip(SkipReason::kBadSignature);
        case C::kUnknownType:
            return skip(SkipReason::kForeign);
        case C::kExpired:
            return skip(SkipReason::kExpired);
        case C::kFromFuture:
            return skip(SkipReason::kFromFuture);
        default:
            return skip(SkipReason::kMalformed);
        }
    }
    auto obj = wire::unpackBounded(env->payload, kRecordLimits);
    if (!obj)
        return skip(obj.error().code == wire::Error::Code::kTooLarge ? SkipReason::kTooLarge
                                                                     : SkipReason::kMalformed);
    auto record = wire::convertAs<wire::CapacityRecord>(obj->get(), "capacity record");
    if (!record || !wire::judge(*record))
        return skip(SkipReason::kMalformed);

    wire::PeerId signer(env->signer);
    if (record->peerId != signer.str())
        return skip(SkipReason::kSignerMismatch);
    if (!trust_.contains(signer))
        return skip(SkipReason::kUntrusted);

    auto it = peers_.find(signer);
    if (it != peers_.end() && record->sequence <= it->second.sequence)
        return skip(SkipReason::kStale);

    bool known = it != peers_.end() && !it->second.withdrawn;
    PeerState& st = peers_[signer];
    st.sequence = record->sequence;
    st.withdrawn = record->withdrawn;
    if (record->withdrawn)
        return {Outcome::kWithdrawn, std::nullopt};
    if (!known)
        st.entry.firstSeenMs = nowMs;
    st.entry.id = signer;
    st.entry.name = trust_.nameOf(signer).value_or("");
    st.entry.issuedAtMs = env->issuedAtMs;
    st.entry.expiresAtMs = env->expiresAtMs;
    st.entry.lastSeenMs = nowMs;
    st.entry.record = std::move(*record);
    return {known ? Outcome::kUpdated : Outcome::kAdded, std::nullopt};
}

std::vector<WorkerEntry> WorkerTable::live(std::int64_t nowMs) const {
    std::vector<WorkerEntry> out;
    for (const auto& [id, st] : peers_)
        if (!st.withdrawn && st.entry.expiresAtMs > nowMs)
            out.push_back(st.entry);
    return out;
}

} // namespace swarm::dht

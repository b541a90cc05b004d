#include "dht/offer_box.hpp"

#include "dht/keys.hpp"
#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/identity.hpp"
#include "wire/judge.hpp"

namespace swarm::dht {

namespace {
constexpr std::size_t kMaxSealed = 8 * 1024;
constexpr std::size_t kMaxPayload = 2048;
constexpr std::int64_t kMaxOfferLifetimeMs = 15 * 60 * 1000;
constexpr wire::UnpackLimits kOfferLimits{
    .array = 64, .map = 32, .str = 512, .bin = 64, .ext = 0, .depth = 4};
} // namespace

const char* refusalName(OfferRefusal r) noexcept {
    switch (r) {
    case OfferRefusal::kNotForUs:
        return "not-for-us";
    case OfferRefusal::kMalformed:
        return "malformed";
    case OfferRefusal::kTooLarge:
        return "too-large";
    case OfferRefusal::kBadSignature:
        return "bad-signature";
    case OfferRefusal::kForeign:
        return "foreign";
    case OfferRefusal::kExpired:
        return "expired";
    case OfferRefusal::kFromFuture:
        return "from-future";
    case OfferRefusal::kSignerMismatch:
        return "signer-mismatch";
    case OfferRefusal::kUntrusted:
        return "untrusted";
    case OfferRefusal::kWrongWorker:
        return "wrong-worker";
    case OfferRefusal::kReplayed:
        return "replayed";
    }
    return "unknown";
}

wire::Bytes sealOffer(const wire::Identity& submitter, const wire::PublicKey& worker,
                      std::string_view swarm, wire::Offer offer, std::int64_t issuedAtMs,
                      std::int64_t lifetimeMs) {
    offer.submitterId = wire::PeerId(submitter.publicKey()).str();
    offer.swarm = std::string(swarm);
    if (offer.workerId.empty())
        offer.workerId = wire::PeerId(worker).str();
    auto signedBytes = signForSwarm(submitter, swarm, wire::EnvelopeType::kOffer, wire::pack(offer),
                                    issuedAtMs, lifetimeMs);
    return wire::sealTo(worker, signedBytes);
}

OfferBox::OfferBox(const wire::Identity& self, std::string swarm, wire::TrustList trust,
                   std::int64_t maxSkewMs)
    : self_(self), selfId_(wire::PeerId(self.publicKey()).str()), swarm_(std::move(swarm)),
      domain_(swarmDomain(swarm_)), trust_(std::move(trust)), maxSkewMs_(maxSkewMs), nonces_(4096) {
}

std::unexpected<OfferRefusal> OfferBox::refuse(OfferRefusal r) {
    ++refused_[static_cast<std::size_t>(r)];
    return std::unexpected(r);
}

std::expected<ReceivedOffer, OfferRefusal> OfferBox::open(wire::ByteView sealed,
                                                          std::int64_t nowMs) {
    if (sealed.size() > kMaxSealed)
        return refuse(OfferRefusal::kTooLarge);
    auto plain = self_.openSealed(sealed);
    if (!plain)
        return refuse(OfferRefusal::kNotForUs);

    wire::VerifyPolicy policy;
    policy.domain = domain_;
    policy.type = wire::EnvelopeType::kOffer;
    policy.nowMs = nowMs;
    policy.maxSkewMs = maxSkewMs_;
    policy.maxPayload = kMaxPayload;
    policy.maxLifetimeMs = kMaxOfferLifetimeMs;
    auto env = wire::openEnvelope(*plain, policy);
    if (!env) {
        using C = wire::Error::Code;
        switch (env.error().code) {
        case C::kTooLarge:
            return refuse(OfferRefusal::kTooLarge);
        case C::kBadSignature:
            return refuse(OfferRefusal::kBadSignature);
        case C::kUnknownType:
            return refuse(OfferRefusal::kForeign);
        case C::kExpired:
            return refuse(OfferRefusal::kExpired);
        case C::kFromFuture:
            return refuse(OfferRefusal::kFromFuture);
        default:
            return refuse(OfferRefusal::kMalformed);
        }
    }
    auto obj = wire::unpackBounded(env->payload, kOfferLimits);
    if (!obj)
        return refuse(obj.error().code == wire::Error::Code::kTooLarge ? OfferRefusal::kTooLarge
                                                                       : OfferRefusal::kMalformed);
    auto offer = wire::convertAs<wire::Offer>(obj->get(), "offer");
    if (!offer || !wire::judge(*offer))
        return refuse(OfferRefusal::kMalformed);

    wire::PeerId signer(env->signer);
    if (offer->submitterId != signer.str())
        return refuse(OfferRefusal::kSignerMismatch);
    if (!trust_.contains(signer))
        return refuse(OfferRefusal::kUntrusted);
    if (offer->workerId != selfId_)
        return refuse(OfferRefusal::kWrongWorker);
    if (offer->swarm != swarm_)
        return refuse(OfferRefusal::kForeign);
    // Last, so that refused offers never occupy the nonce cache.
    if (!nonces_.insert(env->signer, env->nonce, env->expiresAtMs, nowMs))
        return refuse(OfferRefusal::kReplayed);

    ++accepted_;
    ReceivedOffer out;
    out.submitter = signer;
    out.submitterName = trust_.nameOf(signer).value_or("");
    out.offer = std::move(*offer);
    out.issuedAtMs = env->issuedAtMs;
    out.expiresAtMs = env->expiresAtMs;
    return out;
}

} // namespace swarm::dht

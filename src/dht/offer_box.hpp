#pragma once

#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/nonce_cache.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"
#include "wire/trust_list.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <expected>
#include <set>
#include <string>
#include <string_view>

namespace swarm::wire {
class Identity;
}

namespace swarm::dht {

/// Why a worker refused something in its inbox. Names (refusalName) are
/// stable and appear in logs.
enum class OfferRefusal {
    kNotForUs,       ///< the seal does not open with our key (sealed to someone else, or junk)
    kMalformed,      ///< not an envelope / not an offer
    kTooLarge,       ///< over a size limit
    kBadSignature,   ///< the submitter's signature does not verify
    kForeign,        ///< another swarm (domain), another envelope type or version
    kExpired,        ///< past its expiry
    kFromFuture,     ///< issued later than now + the allowed clock skew
    kSignerMismatch, ///< submitterId is not the key that signed it
    kUntrusted,      ///< the submitter is not on our allow-list
    kWrongWorker,    ///< workerId names another worker
    kReplayed,       ///< this signed offer was accepted before
};
inline constexpr std::size_t kOfferRefusalCount = 11;

/// "not-for-us", "malformed", "too-large", "bad-signature", "foreign",
/// "expired", "from-future", "signer-mismatch", "untrusted", "wrong-worker",
/// "replayed".
const char* refusalName(OfferRefusal refusal) noexcept;

/// An offer that passed every check.
struct ReceivedOffer {
    wire::PeerId submitter;
    std::string submitterName; ///< alias on the worker's allow-list
    wire::Offer offer;
    std::int64_t issuedAtMs = 0;
    std::int64_t expiresAtMs = 0;
};

/// How long an offer stays valid by default.
inline constexpr std::int64_t kDefaultOfferLifetimeMs = 2 * 60 * 1000;

/// Builds what a submitter puts in a worker's inbox: the offer signed by
/// `submitter` (envelope type kOffer, domain "swarm/v1/<swarm>"), then
/// sealed to `worker` (sign inside, seal outside). Fills offer.submitterId
/// and offer.swarm; fills offer.workerId from `worker` if it is empty.
wire::Bytes sealOffer(const wire::Identity& submitter, const wire::PublicKey& worker,
                      std::string_view swarm, wire::Offer offer, std::int64_t issuedAtMs,
                      std::int64_t lifetimeMs = kDefaultOfferLifetimeMs);

/// The worker's judge of inbox values: opens the seal with its key,
/// verifies the envelope, requires a submitter on its allow-list, an offer
/// addressed to itself, fresh and never seen before (NonceCache). Pure
/// logic; borrows `self`. Not thread-safe.
class OfferBox {
public:
    OfferBox(const wire::Identity& self, std::string swarm, wire::TrustList trust,
             std::int64_t maxSkewMs = 60'000);

    /// Judges one inbox value. Never throws on bad bytes.
    std::expected<ReceivedOffer, OfferRefusal> open(wire::ByteView sealed, std::int64_t nowMs);

    std::uint64_t refused(OfferRefusal r) const noexcept {
        return refused_[static_cast<std::size_t>(r)];
    }
    const std::array<std::uint64_t, kOfferRefusalCount>& refusedCounts() const noexcept {
        return refused_;
    }
    std::uint64_t accepted() const noexcept { return accepted_; }

private:
    std::unexpected<OfferRefusal> refuse(OfferRefusal r);

    const wire::Identity& self_;
    std::string selfId_;
    std::string swarm_;
    std::string domain_;
    wire::TrustList trust_;
    std::int64_t maxSkewMs_;
    wire::NonceCache nonces_;
    std::array<std::uint64_t, kOfferRefusalCount> refused_{};
    std::uint64_t accepted_ = 0;
};

} // namespace swarm::dht

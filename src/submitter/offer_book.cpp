#include "submitter/offer_book.hpp"

#include "wire/bytes.hpp"

namespace swarm::submitter {

std::optional<OfferBook::Token>
OfferBook::offer(const std::string& id, const wire::PublicKey& worker, std::int64_t nowMs) {
    auto last = lastOffer_.find(id);
    if (last != lastOffer_.end() && nowMs - last->second < kReofferMs)
        return std::nullopt;
    lastOffer_[id] = nowMs;
    Token token{};
    wire::randomBytes(token);
    tokens_[token] = Pending{worker, nowMs + kLifetimeMs};
    return token;
}

std::expected<void, std::string>
OfferBook::redeem(const Token& token, const wire::PublicKey& worker, std::int64_t nowMs) {
    auto it = tokens_.find(token);
    if (it == tokens_.end())
        return std::unexpected("unknown token");
    if (it->second.worker != worker)
        return std::unexpected("token was offered to another worker");
    const bool fresh = it->second.expiresMs > nowMs;
    tokens_.erase(it); // one-time, whatever the verdict
    if (!fresh)
        return std::unexpected("offer expired");
    return {};
}

void OfferBook::expire(std::int64_t nowMs) {
    for (auto it = tokens_.begin(); it != tokens_.end();)
        it = it->second.expiresMs <= nowMs ? tokens_.erase(it) : std::next(it);
}

} // namespace swarm::submitter

#include "wire/nonce_cache.hpp"

namespace swarm::wire {

bool NonceCache::insert(const PublicKey& signer, const Nonce& nonce, std::int64_t expiresAtMs,
                        std::int64_t nowMs) {
    prune(nowMs);
    Key key{signer, nonce};
    if (byKey_.contains(key))
        return false;
    if (capacity_ == 0)
        return true;
    while (byKey_.size() >= capacity_) {
        auto oldest = byExpiry_.begin();
        byKey_.erase(oldest->second);
        byExpiry_.erase(oldest);
    }
    byKey_.emplace(key, expiresAtMs);
    byExpiry_.emplace(expiresAtMs, key);
    return true;
}

void NonceCache::prune(std::int64_t nowMs) {
    while (!byExpiry_.empty() && byExpiry_.begin()->first < nowMs) {
        byKey_.erase(byExpiry_.begin()->second);
        byExpiry_.erase(byExpiry_.begin());
    }
}

} // namespace swarm::wire

#pragma once

#include "wire/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace swarm::wire {

/// Remembers (signer, nonce) pairs until their envelope expires, so that a
/// replayed envelope is refused. Bounded: when full, the entries closest to
/// expiry are dropped first. Not thread-safe.
class NonceCache {
public:
    explicit NonceCache(std::size_t capacity = 65536) : capacity_(capacity) {}

    /// Records the pair; false if it was already present (a replay).
    /// Drops entries that expired before `nowMs`.
    bool insert(const PublicKey& signer, const Nonce& nonce, std::int64_t expiresAtMs,
                std::int64_t nowMs);
    std::size_t size() const noexcept { return byKey_.size(); }

private:
    using Key = std::pair<PublicKey, Nonce>;
    void prune(std::int64_t nowMs);

    std::size_t capacity_;
    std::map<Key, std::int64_t> byKey_;
    std::multimap<std::int64_t, Key> byExpiry_;
};

} // namespace swarm::wire

#include "wire/digest.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace swarm::wire {

static_assert(sizeof(crypto_hash_sha256_state) <= 128);

std::string Digest::str() const {
    return "sha256:" + toHex(bytes);
}

std::optional<Digest> Digest::parse(std::string_view text) {
    constexpr std::string_view kPrefix = "sha256:";
    if (!text.starts_with(kPrefix))
        return std::nullopt;
    auto raw = fromHex(text.substr(kPrefix.size()));
    if (!raw)
        return std::nullopt;
    return fromBytes(*raw);
}

std::optional<Digest> Digest::fromBytes(ByteView raw) {
    if (raw.size() != 32)
        return std::nullopt;
    Digest d;
    std::copy(raw.begin(), raw.end(), d.bytes.begin());
    return d;
}

Digest sha256(ByteView data) {
    Digest d;
    crypto_hash_sha256(d.bytes.data(), data.data(), data.size());
    return d;
}

Sha256::Sha256() {
    crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256::update(ByteView data) {
    crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_), data.data(),
                              data.size());
}

Digest Sha256::finish() {
    Digest d;
    crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), d.bytes.data());
    return d;
}

} // namespace swarm::wire

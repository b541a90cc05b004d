#include "net/sha256_hasher.hpp"

#include <gnutls/crypto.h>

#include <stdexcept>

namespace swarm::net {

Sha256Hasher::Sha256Hasher() {
    gnutls_hash_hd_t h = nullptr;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        throw std::runtime_error("TLS: cannot start a SHA-256 hash");
    state_ = h;
}

Sha256Hasher::~Sha256Hasher() {
    if (state_ != nullptr)
        gnutls_hash_deinit(static_cast<gnutls_hash_hd_t>(state_), nullptr);
}

Sha256Hasher::Sha256Hasher(Sha256Hasher&& other) noexcept : state_(other.state_) {
    other.state_ = nullptr;
}

void Sha256Hasher::update(wire::ByteView data) {
    if (!data.empty())
        gnutls_hash(static_cast<gnutls_hash_hd_t>(state_), data.data(), data.size());
}

wire::Digest Sha256Hasher::finish() {
    wire::Digest d;
    gnutls_hash_output(static_cast<gnutls_hash_hd_t>(state_), d.bytes.data());
    return d;
}

wire::Digest fastSha256(wire::ByteView data) {
    Sha256Hasher h;
    h.update(data);
    return h.finish();
}

} // namespace swarm::net

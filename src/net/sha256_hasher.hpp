#pragma once

#include "wire/bytes.hpp"
#include "wire/digest.hpp"

namespace swarm::net {

/// Incremental SHA-256 computed by GnuTLS (nettle uses the CPU's SHA
/// extensions where present: about 8x libsodium's portable code on our
/// machines). Produces the same digests as wire::sha256. Move-only; one
/// thread at a time. Throws std::runtime_error if GnuTLS cannot allocate.
class Sha256Hasher {
public:
    Sha256Hasher();
    ~Sha256Hasher();
    Sha256Hasher(Sha256Hasher&& other) noexcept;
    Sha256Hasher& operator=(Sha256Hasher&&) = delete;
    Sha256Hasher(const Sha256Hasher&) = delete;

    void update(wire::ByteView data);
    /// Finishes the hash; the object must not be updated afterwards.
    wire::Digest finish();

private:
    void* state_; // gnutls_hash_hd_t
};

/// One-shot form.
wire::Digest fastSha256(wire::ByteView data);

} // namespace swarm::net

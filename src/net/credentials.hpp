#pragma once

#include "wire/identity.hpp"

#include <memory>

namespace swarm::net {

/// Initialises GnuTLS for the process lifetime of the guard. Create one in
/// main() (or a test fixture) before any Credentials.
class TlsLibrary {
public:
    /// Throws std::runtime_error if GnuTLS cannot initialise.
    TlsLibrary();
    ~TlsLibrary();
    TlsLibrary(const TlsLibrary&) = delete;
    TlsLibrary& operator=(const TlsLibrary&) = delete;
};

/// This peer's TLS identity: its swarm Ed25519 key imported as a raw public
/// key (RFC 7250). Immutable after construction and safe to share between
/// threads; copies share one handle, and sessions keep it alive, so a
/// Credentials may be destroyed while sessions made from it are still open.
class Credentials {
public:
    /// Imports `identity` (its seed is copied into GnuTLS). Throws
    /// std::runtime_error if GnuTLS refuses the key.
    explicit Credentials(const wire::Identity& identity);
    ~Credentials();
    Credentials(const Credentials&) = default;
    Credentials& operator=(const Credentials&) = default;
    Credentials(Credentials&&) noexcept;
    Credentials& operator=(Credentials&&) noexcept;

    const wire::PublicKey& publicKey() const noexcept;

    struct Impl;
    /// For the implementation of Session; opaque to everyone else.
    const std::shared_ptr<Impl>& impl() const noexcept { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace swarm::net

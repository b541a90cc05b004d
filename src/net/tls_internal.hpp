#pragma once

// Private to src/net: the GnuTLS handles behind Credentials. Never include
// this from a public header.

#include "net/credentials.hpp"

#include <gnutls/gnutls.h>

#include <memory>

namespace swarm::net {

struct CredentialsDeleter {
    void operator()(gnutls_certificate_credentials_t c) const noexcept {
        gnutls_certificate_free_credentials(c);
    }
};
using CredentialsHandle =
    std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, CredentialsDeleter>;

struct PriorityDeleter {
    void operator()(gnutls_priority_t p) const noexcept { gnutls_priority_deinit(p); }
};
using PriorityHandle = std::unique_ptr<std::remove_pointer_t<gnutls_priority_t>, PriorityDeleter>;

struct Credentials::Impl {
    wire::PublicKey publicKey;
    CredentialsHandle credentials;
    PriorityHandle priority;
};

/// TLS 1.3 only, raw public keys only, Ed25519 signatures, AES-GCM first
/// (several times faster than ChaCha20 here, see docs/streams.md).
inline constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-CTYPE-ALL:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK:-SIGN-ALL:+SIGN-EDDSA-ED25519";

} // namespace swarm::net

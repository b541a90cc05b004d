#include "net/credentials.hpp"

#include "net/tls_internal.hpp"

#include <gnutls/abstract.h>

#include <stdexcept>
#include <string>

namespace swarm::net {

namespace {

void check(int rc, const char* what) {
    if (rc < 0)
        throw std::runtime_error(std::string("TLS: ") + what + ": " + gnutls_strerror(rc));
}

struct PubkeyDeleter {
    void operator()(gnutls_pubkey_t k) const noexcept { gnutls_pubkey_deinit(k); }
};
struct PrivkeyDeleter {
    void operator()(gnutls_privkey_t k) const noexcept { gnutls_privkey_deinit(k); }
};

// Verification happens per session (gnutls_session_set_verify_function in
// session.cpp); see there.

} // namespace

TlsLibrary::TlsLibrary() {
    check(gnutls_global_init(), "global init");
}
TlsLibrary::~TlsLibrary() {
    gnutls_global_deinit();
}

Credentials::Credentials(const wire::Identity& identity) : impl_(std::make_shared<Impl>()) {
    impl_->publicKey = identity.publicKey();

    gnutls_datum_t x{const_cast<unsigned char*>(identity.publicKey().bytes.data()), 32};
    auto seed = identity.seed();
    gnutls_datum_t k{const_cast<unsigned char*>(seed.data()), 32};

    gnutls_privkey_t rawPriv = nullptr;
    check(gnutls_privkey_init(&rawPriv), "privkey init");
    std::unique_ptr<std::remove_pointer_t<gnutls_privkey_t>, PrivkeyDeleter> priv(rawPriv);
    check(gnutls_privkey_import_ecc_raw(priv.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k),
          "import Ed25519 private key");

    gnutls_pubkey_t rawPub = nullptr;
    check(gnutls_pubkey_init(&rawPub), "pubkey init");
    std::unique_ptr<std::remove_pointer_t<gnutls_pubkey_t>, PubkeyDeleter> pub(rawPub);
    check(gnutls_pubkey_import_ecc_raw(pub.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr),
          "import Ed25519 public key");

    gnutls_datum_t spki{};
    check(gnutls_pubkey_export2(pub.get(), GNUTLS_X509_FMT_DER, &spki), "export public key");
    gnutls_pcert_st pcert{};
    int rc = gnutls_pcert_import_rawpk_raw(&pcert, &spki, GNUTLS_X509_FMT_DER, 0, 0);
    gnutls_free(spki.data);
    check(rc, "raw public key");

    gnutls_certificate_credentials_t rawCred = nullptr;
    if (int r = gnutls_certificate_allocate_credentials(&rawCred); r < 0) {
        gnutls_pcert_deinit(&pcert);
        check(r, "allocate credentials");
    }
    impl_->credentials.reset(rawCred);
    // On success the credentials own the pcert contents and the private key.
    rc = gnutls_certificate_set_key(rawCred, nullptr, 0, &pcert, 1, priv.get());
    if (rc < 0) {
        gnutls_pcert_deinit(&pcert);
        check(rc, "set key");
    }
    (void)priv.release();

    gnutls_priority_t prio = nullptr;
    const char* errPos = nullptr;
    check(gnutls_priority_init(&prio, kPriority, &errPos), "priority string");
    impl_->priority.reset(prio);
}

Credentials::~Credentials() = default;
Credentials::Credentials(Credentials&&) noexcept = default;
Credentials& Credentials::operator=(Credentials&&) noexcept = default;

const wire::PublicKey& Credentials::publicKey() const noexcept {
    return impl_->publicKey;
}

} // namespace swarm::net

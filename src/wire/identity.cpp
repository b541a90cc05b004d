#include "wire/identity.hpp"

#include "base/unique_fd.hpp"
#include "wire/home.hpp"

#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace swarm::wire {

namespace {
// Key file: a fixed magic line followed by seed||public (64 raw bytes), so a
// truncated or foreign file is recognised rather than misread.
constexpr std::string_view kMagic = "swarm-ed25519-v1\n";
constexpr std::size_t kFileSize = kMagic.size() + 64;
} // namespace

bool verifySignature(const PublicKey& key, ByteView message, const Signature& sig) noexcept {
    return crypto_sign_verify_detached(sig.data(), message.data(), message.size(),
                                       key.bytes.data()) == 0;
}

Bytes sealTo(const PublicKey& recipient, ByteView plain) {
    unsigned char curve[crypto_box_PUBLICKEYBYTES];
    Bytes out(plain.size() + crypto_box_SEALBYTES);
    if (crypto_sign_ed25519_pk_to_curve25519(curve, recipient.bytes.data()) != 0)
        return {}; // not a valid Ed25519 point: nobody can open it
    crypto_box_seal(out.data(), plain.data(), plain.size(), curve);
    return out;
}

Identity Identity::generate() {
    Identity id;
    crypto_sign_keypair(id.public_.bytes.data(), id.secret_.data());
    return id;
}

Identity Identity::fromSeed(std::span<const std::uint8_t, 32> seed) {
    Identity id;
    crypto_sign_seed_keypair(id.public_.bytes.data(), id.secret_.data(), seed.data());
    return id;
}

Identity::Identity(Identity&& other) noexcept : public_(other.public_), secret_(other.secret_) {
    sodium_memzero(other.secret_.data(), other.secret_.size());
}

Identity& Identity::operator=(Identity&& other) noexcept {
    if (this != &other) {
        public_ = other.public_;
        secret_ = other.secret_;
        sodium_memzero(other.secret_.data(), other.secret_.size());
    }
    return *this;
}

Identity::~Identity() {
    sodium_memzero(secret_.data(), secret_.size());
}

std::span<const std::uint8_t, 32> Identity::seed() const noexcept {
    return std::span<const std::uint8_t, 32>(secret_.data(), 32);
}

Signature Identity::sign(ByteView message) const noexcept {
    Signature sig{};
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
    return sig;
}

std::optional<Bytes> Identity::openSealed(ByteView sealed) const {
    if (sealed.size() < crypto_box_SEALBYTES)
        return std::nullopt;
    unsigned char curvePk[crypto_box_PUBLICKEYBYTES];
    unsigned char curveSk[crypto_box_SECRETKEYBYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(curvePk, public_.bytes.data()) != 0)
        return std::nullopt;
    crypto_sign_ed25519_sk_to_curve25519(curveSk, secret_.data());
    Bytes out(sealed.size() - crypto_box_SEALBYTES);
    int rc = crypto_box_seal_open(out.data(), sealed.data(), sealed.size(), curvePk, curveSk);
    sodium_memzero(curveSk, sizeof curveSk);
    if (rc != 0)
        return std::nullopt;
    return out;
}

std::expected<void, Error> saveIdentity(const std::filesystem::path& path, const Identity& id,
                                        bool overwrite) {
    std::error_code ec;
    if (!overwrite && std::filesystem::exists(path, ec))
        return std::unexpected(Error(
            Error::Code::kExists, path.string() + " already exists (use --force to replace it)"));
    std::string data(kMagic);
    auto seed = id.seed();
    data.append(reinterpret_cast<const char*>(seed.data()), seed.size());
    data.append(reinterpret_cast<const char*>(id.publicKey().bytes.data()), 32);
    try {
        writeFileAtomic(path, data, 0600);
    } catch (const std::system_error& e) {
        sodium_memzero(data.data(), data.size());
        return std::unexpected(Error(Error::Code::kIo, e.what()));
    }
    sodium_memzero(data.data(), data.size());
    return {};
}

std::expected<Identity, Error> loadIdentity(const std::filesystem::path& path) {
    const std::string name = path.string();
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT)
            return std::unexpected(Error(Error::Code::kNotFound,
                                         "no identity at " + name + " (run the 'init' command)"));
        return std::unexpected(Error(Error::Code::kIo, name + ": " + std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return std::unexpected(Error(Error::Code::kIo, name + ": " + std::strerror(errno)));
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return std::unexpected(
            Error(Error::Code::kPermissions, name + " is accessible by others (mode " + mode +
                                                 "); fix it with: chmod 600 " + name));
    }
    unsigned char buf[kFileSize + 1];
    std::size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = ::read(fd.get(), buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    fd.reset();
    auto fail = [&](std::string why) {
        sodium_memzero(buf, sizeof buf);
        return std::unexpected(Error(Error::Code::kMalformed,
                                     name + ": " + why +
                                         "; restore it from a backup or create a new identity "
                                         "with 'init --force'"));
    };
    if (got != kFileSize)
        return fail(got < kFileSize ? "truncated key file" : "key file too long");
    if (std::memcmp(buf, kMagic.data(), kMagic.size()) != 0)
        return fail("not a swarm key file");
    auto id = Identity::fromSeed(std::span<const std::uint8_t, 32>(buf + kMagic.size(), 32));
    if (std::memcmp(id.publicKey().bytes.data(), buf + kMagic.size() + 32, 32) != 0)
        return fail("public key does not match the secret key");
    sodium_memzero(buf, sizeof buf);
    return id;
}

} // namespace swarm::wire

#pragma once

#include "wire/bytes.hpp"
#include "wire/error.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>

namespace swarm::wire {

/// An Ed25519 public key (32 bytes).
struct PublicKey {
    std::array<std::uint8_t, 32> bytes{};
    auto operator<=>(const PublicKey&) const = default;
};

/// An Ed25519 signature (64 bytes).
using Signature = std::array<std::uint8_t, 64>;

/// Verifies an Ed25519 signature over exactly `message`.
bool verifySignature(const PublicKey& key, ByteView message, const Signature& sig) noexcept;

/// Seals `plain` to the holder of `recipient`'s secret key: libsodium
/// crypto_box_seal on the X25519 form of the Ed25519 key. Anonymous: the
/// sender is not authenticated by the seal (sign inside it).
Bytes sealTo(const PublicKey& recipient, ByteView plain);

/// An Ed25519 key pair. Move-only; the secret half is wiped on destruction
/// and never printed. Methods are const and thread-safe.
class Identity {
public:
    /// A fresh random key pair.
    static Identity generate();
    /// The key pair derived from a 32-byte seed (deterministic; for tests
    /// and for importing the key into TLS).
    static Identity fromSeed(std::span<const std::uint8_t, 32> seed);

    Identity(Identity&& other) noexcept;
    Identity& operator=(Identity&& other) noexcept;
    Identity(const Identity&) = delete;
    Identity& operator=(const Identity&) = delete;
    ~Identity();

    const PublicKey& publicKey() const noexcept { return public_; }
    /// The 32-byte seed the secret key is derived from. Handle with care:
    /// only the TLS module needs it, to import the key.
    std::span<const std::uint8_t, 32> seed() const noexcept;

    Signature sign(ByteView message) const noexcept;
    /// Opens a crypto_box_seal message addressed to this key; nullopt if it
    /// was not sealed to us or was tampered with.
    std::optional<Bytes> openSealed(ByteView sealed) const;

private:
    Identity() = default;
    PublicKey public_;
    std::array<std::uint8_t, 64> secret_{}; // libsodium layout: seed || public
};

/// Writes the key pair to `path` atomically (temp file + rename) with mode
/// 0600. Refuses to replace an existing file unless `overwrite`.
std::expected<void, Error> saveIdentity(const std::filesystem::path& path, const Identity& id,
                                        bool overwrite);

/// Loads a key pair written by saveIdentity(). Refuses a file that is group-
/// or world-accessible (kPermissions, with the chmod that fixes it), that is
/// truncated or whose halves do not match (kMalformed), or is missing
/// (kNotFound, with the init command that creates it).
std::expected<Identity, Error> loadIdentity(const std::filesystem::path& path);

} // namespace swarm::wire

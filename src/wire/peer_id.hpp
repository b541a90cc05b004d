#pragma once

#include "wire/error.hpp"
#include "wire/identity.hpp"

#include <expected>
#include <string>
#include <string_view>

namespace swarm::wire {

/// A peer's public name: "sw1" followed by the lower-case unpadded base32 of
/// its Ed25519 public key (55 characters in all). A value type.
class PeerId {
public:
    static constexpr std::string_view kPrefix = "sw1";
    static constexpr std::size_t kLength = 3 + 52;

    PeerId() = default;
    explicit PeerId(const PublicKey& key) : key_(key) {}

    /// Parses the text form. Errors (kBadId) name what is wrong: prefix,
    /// length, a character outside the alphabet, non-canonical last char.
    static std::expected<PeerId, Error> parse(std::string_view text);

    std::string str() const;
    /// First 12 characters, for logs and tables.
    std::string shortStr() const { return str().substr(0, 12); }
    const PublicKey& key() const noexcept { return key_; }

    auto operator<=>(const PeerId&) const = default;

private:
    PublicKey key_;
};

} // namespace swarm::wire

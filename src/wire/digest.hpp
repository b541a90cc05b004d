#pragma once

#include "wire/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::wire {

/// A SHA-256 content address.
struct Digest {
    std::array<std::uint8_t, 32> bytes{};

    /// "sha256:<64 hex>" form used in files, logs and JSON.
    std::string str() const;
    /// Parses the str() form; nullopt otherwise.
    static std::optional<Digest> parse(std::string_view text);
    /// Returns the digest from raw 32 bytes; nullopt on wrong length.
    static std::optional<Digest> fromBytes(ByteView raw);

    auto operator<=>(const Digest&) const = default;
};

/// One-shot SHA-256 (base::Sha256::of; stream with base::Sha256 and wrap its
/// result as Digest{...}).
Digest sha256(ByteView data);

} // namespace swarm::wire

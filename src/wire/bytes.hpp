#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::wire {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView asBytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Lower-case hexadecimal.
std::string toHex(ByteView bytes);
/// Parses hex (either case); nullopt on odd length or a non-hex character.
std::optional<Bytes> fromHex(std::string_view hex);

/// RFC 4648 base32, lower-case alphabet, no padding.
std::string toBase32(ByteView bytes);
/// Parses unpadded lower-case base32. Rejects characters outside the
/// alphabet and non-canonical trailing bits; nullopt on any of those.
std::optional<Bytes> fromBase32(std::string_view text);

/// Fills `out` with cryptographically secure random bytes (libsodium).
void randomBytes(std::span<std::uint8_t> out) noexcept;

} // namespace swarm::wire

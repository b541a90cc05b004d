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

/// One-shot SHA-256.
Digest sha256(ByteView data);

/// Incremental SHA-256. Not thread-safe; one instance per stream.
class Sha256 {
public:
    Sha256();
    void update(ByteView data);
    /// Finishes the hash; the object must not be updated afterwards.
    Digest finish();

private:
    alignas(16) unsigned char state_[128];
};

} // namespace swarm::wire

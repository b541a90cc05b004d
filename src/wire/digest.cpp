#include "wire/digest.hpp"

#include "base/sha256.hpp"

#include <algorithm>

namespace swarm::wire {

std::string Digest::str() const {
    return "sha256:" + toHex(bytes);
}

std::optional<Digest> Digest::parse(std::string_view text) {
    constexpr std::string_view kPrefix = "sha256:";
    if (!text.starts_with(kPrefix))
        return std::nullopt;
    auto raw = fromHex(text.substr(kPrefix.size()));
    if (!raw)
        return std::nullopt;
    return fromBytes(*raw);
}

std::optional<Digest> Digest::fromBytes(ByteView raw) {
    if (raw.size() != 32)
        return std::nullopt;
    Digest d;
    std::copy(raw.begin(), raw.end(), d.bytes.begin());
    return d;
}

Digest sha256(ByteView data) {
    return Digest{base::Sha256::of(data)};
}

} // namespace swarm::wire

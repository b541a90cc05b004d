#include "wire/peer_id.hpp"

#include "wire/bytes.hpp"

#include <algorithm>

namespace swarm::wire {

std::expected<PeerId, Error> PeerId::parse(std::string_view text) {
    auto bad = [&](std::string why) {
        std::string shown(text.substr(0, 64));
        return std::unexpected(Error(Error::Code::kBadId, "bad peer id '" + shown + "': " + why));
    };
    if (!text.starts_with(kPrefix))
        return bad("must start with '" + std::string(kPrefix) + "'");
    if (text.size() != kLength)
        return bad("must be " + std::to_string(kLength) + " characters, not " +
                   std::to_string(text.size()));
    auto body = text.substr(kPrefix.size());
    auto badChar = std::find_if(body.begin(), body.end(), [](char c) {
        return !((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'));
    });
    if (badChar != body.end())
        return bad(std::string("character '") + *badChar + "' is not in the alphabet a-z 2-7");
    auto raw = fromBase32(body);
    if (!raw || raw->size() != 32)
        return bad("last character is not canonical");
    PublicKey key;
    std::copy(raw->begin(), raw->end(), key.bytes.begin());
    return PeerId(key);
}

std::string PeerId::str() const {
    return std::string(kPrefix) + toBase32(key_.bytes);
}

} // namespace swarm::wire

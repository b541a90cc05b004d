#pragma once

#include "wire/bytes.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::wire {
class Identity;
enum class EnvelopeType : std::uint16_t;
} // namespace swarm::wire

namespace swarm::dht {

/// The default swarm name (`--swarm`).
inline constexpr std::string_view kDefaultSwarm = "default";

/// The text hashed (SHA-1, OpenDHT's InfoHash::get) into the key under which
/// the workers of `swarm` announce themselves: "swarm/v1/<swarm>/workers".
inline std::string workersKeyText(std::string_view swarm) {
    return "swarm/v1/" + std::string(swarm) + "/workers";
}

/// The text hashed into a worker's inbox key: "swarm/v1/inbox/<peer-id>".
inline std::string inboxKeyText(std::string_view peerId) {
    return "swarm/v1/inbox/" + std::string(peerId);
}

/// The envelope domain of every record and offer of `swarm`:
/// "swarm/v1/<swarm>". A record signed for one swarm is refused in another.
inline std::string swarmDomain(std::string_view swarm) {
    return "swarm/v1/" + std::string(swarm);
}

/// `payload` (the msgpack of a record or offer of `type`) in an envelope of
/// `swarm`'s domain, valid from `issuedAtMs` for `lifetimeMs`, signed by `id`:
/// the bytes a record or offer is published as (before any sealing).
wire::Bytes signForSwarm(const wire::Identity& id, std::string_view swarm, wire::EnvelopeType type,
                         wire::Bytes payload, std::int64_t issuedAtMs, std::int64_t lifetimeMs);

/// True if `name` is a usable swarm name: 1..64 characters of [a-z0-9._-].
bool validSwarmName(std::string_view name) noexcept;

} // namespace swarm::dht

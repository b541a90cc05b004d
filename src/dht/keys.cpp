#include "dht/keys.hpp"

#include "wire/envelope.hpp"

namespace swarm::dht {

wire::Bytes signForSwarm(const wire::Identity& id, std::string_view swarm, wire::EnvelopeType type,
                         wire::Bytes payload, std::int64_t issuedAtMs, std::int64_t lifetimeMs) {
    wire::Envelope env;
    env.domain = swarmDomain(swarm);
    env.type = type;
    env.issuedAtMs = issuedAtMs;
    env.expiresAtMs = issuedAtMs + lifetimeMs;
    env.payload = std::move(payload);
    return wire::signEnvelope(id, std::move(env));
}

} // namespace swarm::dht

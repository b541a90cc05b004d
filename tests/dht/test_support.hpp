#pragma once

// Helpers shared by the dht tests: deterministic identities, trust lists
// and hand-built (possibly hostile) envelopes.

#include "dht/keys.hpp"
#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"
#include "wire/trust_list.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace swarm::dht::test {

/// The identity derived from a seed filled with `n`.
inline wire::Identity identityN(std::uint8_t n) {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(n);
    return wire::Identity::fromSeed(seed);
}

inline std::string idOf(const wire::Identity& id) {
    return wire::PeerId(id.publicKey()).str();
}

/// A trust list holding `peers` (names "p0", "p1", ...).
inline wire::TrustList trustOf(const std::vector<const wire::Identity*>& peers) {
    wire::TrustList list;
    auto self = identityN(255);
    int i = 0;
    for (const auto* p : peers) {
        auto r = list.add(wire::PeerId(p->publicKey()), "p" + std::to_string(i++),
                          wire::PeerId(self.publicKey()));
        if (!r)
            throw std::runtime_error(r.error().what);
    }
    return list;
}

/// A plausible capacity record.
inline wire::CapacityRecord sampleRecord(std::uint32_t cores = 4) {
    wire::CapacityRecord r;
    r.cores = cores;
    r.memoryBytes = 8ULL << 30;
    r.slots = cores;
    r.freeSlots = cores;
    r.arch = "x86_64";
    r.os = "linux";
    r.labels = {"gpu:none", "site:lab"};
    r.podman = "4.3.1";
    r.rootless = true;
    r.isolation.memory = false;
    r.isolation.pids = true;
    r.isolation.network = true;
    r.isolation.readOnly = true;
    r.software = "0.1.0";
    r.reach = "behind-nat"; // the longer word
    return r;
}

/// Signs `record` exactly as given (peerId and sequence untouched) with
/// `signer`: the way to forge a record claiming someone else's id.
inline wire::Bytes signRecordAs(const wire::Identity& signer, const wire::CapacityRecord& record,
                                std::string_view swarm, std::int64_t issuedAtMs,
                                std::int64_t lifetimeMs) {
    wire::Envelope env;
    env.domain = swarmDomain(swarm);
    env.type = wire::EnvelopeType::kCapacity;
    env.issuedAtMs = issuedAtMs;
    env.expiresAtMs = issuedAtMs + lifetimeMs;
    env.payload = wire::pack(record);
    return wire::signEnvelope(signer, std::move(env));
}

/// The signed (unsealed) envelope of an offer, as sealOffer builds it.
inline wire::Bytes signOffer(const wire::Identity& submitter, const wire::Offer& offer,
                             std::string_view swarm, std::int64_t issuedAtMs,
                             std::int64_t lifetimeMs) {
    wire::Envelope env;
    env.domain = swarmDomain(swarm);
    env.type = wire::EnvelopeType::kOffer;
    env.issuedAtMs = issuedAtMs;
    env.expiresAtMs = issuedAtMs + lifetimeMs;
    env.payload = wire::pack(offer);
    return wire::signEnvelope(submitter, std::move(env));
}

inline wire::Offer sampleOffer(const wire::Identity& submitter, const wire::Identity& worker,
                               std::string_view swarm = "default") {
    wire::Offer o;
    o.submitterId = idOf(submitter);
    o.workerId = idOf(worker);
    o.swarm = std::string(swarm);
    o.endpoints = {"127.0.0.1:7000"};
    o.token.fill(7);
    o.jobId = "job-1";
    return o;
}

} // namespace swarm::dht::test

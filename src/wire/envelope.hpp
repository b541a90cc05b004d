#pragma once

#include "wire/bytes.hpp"
#include "wire/error.hpp"
#include "wire/identity.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace swarm::wire {

/// Kinds of signed envelope. Values are part of the wire format.
enum class EnvelopeType : std::uint16_t {
    kCapacity = 1, ///< a worker's capacity record in the DHT
    kOffer = 2,    ///< a submitter's offer, sealed into a worker's inbox
};

using Nonce = std::array<std::uint8_t, 16>;

/// A signed statement. Encoded as msgpack `[body: bin, signature: bin64]`
/// where body is the msgpack array
/// `[domain, type, version, signer, issued_ms, expires_ms, nonce, payload]`
/// and the Ed25519 signature covers "swarm-envelope-v1\0" || body, the body
/// bytes exactly as sent (never a re-serialisation).
struct Envelope {
    std::string domain;        ///< context, e.g. "swarm/v1/default"
    EnvelopeType type{};       ///< what the payload is
    std::uint16_t version = 1; ///< payload schema version
    PublicKey signer;          ///< who signed it
    std::int64_t issuedAtMs = 0;
    std::int64_t expiresAtMs = 0;
    Nonce nonce{};
    Bytes payload; ///< msgpack of the typed record
};

/// The hard ceiling on any envelope's encoded size.
inline constexpr std::size_t kMaxEnvelopeBytes = 64 * 1024;

/// Signs and encodes. `env.signer` is overwritten with `id`'s key; a zero
/// nonce is replaced by a random one. Asserts the encoding fits the ceiling.
Bytes signEnvelope(const Identity& id, Envelope env);

/// What a receiver accepts.
struct VerifyPolicy {
    std::string_view domain;                       ///< must match exactly
    EnvelopeType type{};                           ///< must match exactly
    std::uint16_t maxVersion = 1;                  ///< newer payload schemas are refused
    std::int64_t nowMs = 0;                        ///< the receiver's clock
    std::int64_t maxSkewMs = 60'000;               ///< allowed issued-in-the-future
    std::size_t maxPayload = 4096;                 ///< payload byte limit
    std::int64_t maxLifetimeMs = 24 * 3600 * 1000; ///< expires - issued bound
};

/// Decodes and verifies. On failure the error says why: kMalformed,
/// kTooLarge (payload or envelope over limit), kBadSignature, kUnknownType
/// (domain, type or version not accepted), kExpired, kFromFuture. Replay
/// is the caller's business (NonceCache). Never throws.
std::expected<Envelope, Error> openEnvelope(ByteView bytes, const VerifyPolicy& policy);

} // namespace swarm::wire

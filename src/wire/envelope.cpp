#include "wire/envelope.hpp"

#include "wire/codec.hpp"

#include <msgpack.hpp>

#include <cassert>
#include <cstring>

namespace swarm::wire {

namespace {
constexpr std::string_view kSigningContext{"swarm-envelope-v1\0", 18};
constexpr std::size_t kMaxDomain = 128;

Bytes signingInput(ByteView body) {
    Bytes input(kSigningContext.size() + body.size());
    std::memcpy(input.data(), kSigningContext.data(), kSigningContext.size());
    if (!body.empty())
        std::memcpy(input.data() + kSigningContext.size(), body.data(), body.size());
    return input;
}

Error malformed(std::string why) {
    return Error(Error::Code::kMalformed, "envelope: " + why);
}

bool isBin(const msgpack::object& o, std::size_t size) {
    return o.type == msgpack::type::BIN && o.via.bin.size == size;
}

std::optional<std::int64_t> asInt(const msgpack::object& o) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX))
            return std::nullopt;
        return static_cast<std::int64_t>(o.via.u64);
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER)
        return o.via.i64;
    return std::nullopt;
}

std::optional<std::uint16_t> asU16(const msgpack::object& o) {
    if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > 0xffff)
        return std::nullopt;
    return static_cast<std::uint16_t>(o.via.u64);
}
} // namespace

Bytes signEnvelope(const Identity& id, Envelope env) {
    env.signer = id.publicKey();
    if (env.nonce == Nonce{})
        randomBytes(env.nonce);

    msgpack::sbuffer body;
    msgpack::packer<msgpack::sbuffer> pb(body);
    pb.pack_array(8);
    pb.pack(env.domain);
    pb.pack(static_cast<std::uint16_t>(env.type));
    pb.pack(env.version);
    pb.pack_bin(32);
    pb.pack_bin_body(reinterpret_cast<const char*>(env.signer.bytes.data()), 32);
    pb.pack(env.issuedAtMs);
    pb.pack(env.expiresAtMs);
    pb.pack_bin(static_cast<std::uint32_t>(env.nonce.size()));
    pb.pack_bin_body(reinterpret_cast<const char*>(env.nonce.data()), env.nonce.size());
    pb.pack_bin(static_cast<std::uint32_t>(env.payload.size()));
    pb.pack_bin_body(reinterpret_cast<const char*>(env.payload.data()), env.payload.size());

    ByteView bodyBytes(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    Signature sig = id.sign(signingInput(bodyBytes));

    msgpack::sbuffer out;
    msgpack::packer<msgpack::sbuffer> po(out);
    po.pack_array(2);
    po.pack_bin(static_cast<std::uint32_t>(body.size()));
    po.pack_bin_body(body.data(), body.size());
    po.pack_bin(64);
    po.pack_bin_body(reinterpret_cast<const char*>(sig.data()), sig.size());
    assert(out.size() <= kMaxEnvelopeBytes);
    auto* p = reinterpret_cast<const std::uint8_t*>(out.data());
    return Bytes(p, p + out.size());
}

std::expected<Envelope, Error> openEnvelope(ByteView bytes, const VerifyPolicy& policy) {
    if (bytes.size() > kMaxEnvelopeBytes)
        return std::unexpected(
            Error(Error::Code::kTooLarge,
                  "envelope of " + std::to_string(bytes.size()) + " bytes is over the limit"));
    UnpackLimits outerLimits{
        .array = 2, .map = 0, .str = kMaxDomain, .bin = kMaxEnvelopeBytes, .ext = 0, .depth = 2};
    auto outer = unpackBounded(bytes, outerLimits);
    if (!outer)
        return std::unexpected(outer.error());
    const msgpack::object& o = outer->get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2 ||
        o.via.array.ptr[0].type != msgpack::type::BIN || !isBin(o.via.array.ptr[1], 64))
        return std::unexpected(malformed("expected [body, signature]"));
    const auto& bodyObj = o.via.array.ptr[0].via.bin;
    ByteView body(reinterpret_cast<const std::uint8_t*>(bodyObj.ptr), bodyObj.size);
    Signature sig;
    std::memcpy(sig.data(), o.via.array.ptr[1].via.bin.ptr, sig.size());

    UnpackLimits bodyLimits{
        .array = 8, .map = 0, .str = kMaxDomain, .bin = kMaxEnvelopeBytes, .ext = 0, .depth = 2};
    auto inner = unpackBounded(body, bodyLimits);
    if (!inner)
        return std::unexpected(inner.error());
    const msgpack::object& b = inner->get();
    if (b.type != msgpack::type::ARRAY || b.via.array.size != 8)
        return std::unexpected(malformed("body must be an array of 8 fields"));
    const msgpack::object* f = b.via.array.ptr;

    Envelope env;
    if (f[0].type != msgpack::type::STR)
        return std::unexpected(malformed("domain must be a string"));
    env.domain.assign(f[0].via.str.ptr, f[0].via.str.size);
    auto type = asU16(f[1]);
    auto version = asU16(f[2]);
    if (!type || !version)
        return std::unexpected(malformed("type and version must be small unsigned integers"));
    env.type = static_cast<EnvelopeType>(*type);
    env.version = *version;
    if (!isBin(f[3], 32))
        return std::unexpected(malformed("signer must be 32 bytes"));
    std::memcpy(env.signer.bytes.data(), f[3].via.bin.ptr, 32);
    auto issued = asInt(f[4]);
    auto expires = asInt(f[5]);
    if (!issued || !expires)
        return std::unexpected(malformed("issued-at and expires-at must be integers"));
    env.issuedAtMs = *issued;
    env.expiresAtMs = *expires;
    if (!isBin(f[6], env.nonce.size()))
        return std::unexpected(malformed("nonce must be 16 bytes"));
    std::memcpy(env.nonce.data(), f[6].via.bin.ptr, env.nonce.size());
    if (f[7].type != msgpack::type::BIN)
        return std::unexpected(malformed("payload must be bytes"));
    if (f[7].via.bin.size > policy.maxPayload)
        return std::unexpected(
            Error(Error::Code::kTooLarge, "payload of " + std::to_string(f[7].via.bin.size) +
                                              " bytes is over the limit of " +
                                              std::to_string(policy.maxPayload)));

    if (!verifySignature(env.signer, signingInput(body), sig))
        return std::unexpected(Error(Error::Code::kBadSignature, "envelope signature is invalid"));

    if (env.domain != policy.domain)
        return std::unexpected(Error(Error::Code::kUnknownType,
                                     "envelope is for domain '" + env.domain.substr(0, 64) +
                                         "', expected '" + std::string(policy.domain) + "'"));
    if (env.type != policy.type)
        return std::unexpected(
            Error(Error::Code::kUnknownType, "unexpected envelope type " + std::to_string(*type)));
    if (env.version == 0 || env.version > policy.maxVersion)
        return std::unexpected(Error(Error::Code::kUnknownType,
                                     "unsupported payload version " + std::to_string(*version)));
    if (env.expiresAtMs <= env.issuedAtMs ||
        env.expiresAtMs - env.issuedAtMs > policy.maxLifetimeMs)
        return std::unexpected(malformed("expiry must follow issue within the lifetime bound"));
    if (env.expiresAtMs <= policy.nowMs)
        return std::unexpected(Error(Error::Code::kExpired, "envelope expired"));
    if (env.issuedAtMs > policy.nowMs + policy.maxSkewMs)
        return std::unexpected(
            Error(Error::Code::kFromFuture, "envelope issued in the future beyond the clock skew"));

    const auto& payload = f[7].via.bin;
    env.payload.assign(reinterpret_cast<const std::uint8_t*>(payload.ptr),
                       reinterpret_cast<const std::uint8_t*>(payload.ptr) + payload.size);
    return env;
}

} // namespace swarm::wire

#include "wire/codec.hpp"
#include "wire/envelope.hpp"
#include "wire/nonce_cache.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::wire;

namespace {
constexpr std::int64_t kNow = 1'700'000'000'000;

Envelope sample() {
    Envelope env;
    env.domain = "swarm/v1/default";
    env.type = EnvelopeType::kCapacity;
    env.version = 1;
    env.issuedAtMs = kNow - 1000;
    env.expiresAtMs = kNow + 600'000;
    env.payload = Bytes{0x81, 0xa1, 'a', 0x01}; // {"a": 1}
    return env;
}

VerifyPolicy policy() {
    VerifyPolicy p;
    p.domain = "swarm/v1/default";
    p.type = EnvelopeType::kCapacity;
    p.nowMs = kNow;
    return p;
}

Error::Code codeOf(ByteView bytes, const VerifyPolicy& p = policy()) {
    auto r = openEnvelope(bytes, p);
    BOOST_REQUIRE(!r);
    return r.error().code;
}

// Locates `needle` inside `hay` (for flipping a byte of one field).
std::size_t find(const Bytes& hay, ByteView needle) {
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
    BOOST_REQUIRE(it != hay.end());
    return static_cast<std::size_t>(it - hay.begin());
}
} // namespace

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(sign_then_open) {
    auto id = Identity::generate();
    auto bytes = signEnvelope(id, sample());
    auto env = openEnvelope(bytes, policy());
    BOOST_REQUIRE(env);
    BOOST_TEST((env->signer == id.publicKey()));
    BOOST_TEST(env->domain == "swarm/v1/default");
    BOOST_TEST((env->payload == sample().payload));
    BOOST_TEST((env->nonce != Nonce{}));
}

BOOST_AUTO_TEST_CASE(flipping_any_byte_breaks_it) {
    auto id = Identity::generate();
    auto good = signEnvelope(id, sample());
    for (std::size_t i = 0; i < good.size(); ++i) {
        Bytes bad = good;
        bad[i] ^= 0x01;
        auto r = openEnvelope(bad, policy());
        BOOST_TEST_CONTEXT("byte " << i) {
            BOOST_TEST(!r.has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(flip_each_field_is_a_bad_signature) {
    auto id = Identity::generate();
    auto env = sample();
    randomBytes(env.nonce);
    auto good = signEnvelope(id, env);
    auto flipAt = [&](std::size_t pos) {
        Bytes bad = good;
        bad[pos] ^= 0x01;
        return codeOf(bad);
    };
    // domain, signer, nonce, payload: a flipped byte keeps the shape.
    BOOST_TEST((flipAt(find(good, asBytes("default"))) == Error::Code::kBadSignature));
    BOOST_TEST((flipAt(find(good, id.publicKey().bytes) + 5) == Error::Code::kBadSignature));
    BOOST_TEST((flipAt(find(good, env.nonce)) == Error::Code::kBadSignature));
    BOOST_TEST((flipAt(find(good, env.payload) + 2) == Error::Code::kBadSignature));
    BOOST_TEST((flipAt(good.size() - 1) == Error::Code::kBadSignature)); // signature itself
}

BOOST_AUTO_TEST_CASE(wrong_signer_key_is_bad_signature) {
    auto id = Identity::generate();
    auto mallory = Identity::generate();
    auto good = signEnvelope(id, sample());
    Bytes bad = good;
    auto pos = find(bad, id.publicKey().bytes);
    std::copy(mallory.publicKey().bytes.begin(), mallory.publicKey().bytes.end(),
              bad.begin() + static_cast<long>(pos));
    BOOST_TEST((codeOf(bad) == Error::Code::kBadSignature));
}

BOOST_AUTO_TEST_CASE(unknown_domain_type_version) {
    auto id = Identity::generate();
    auto env = sample();
    env.domain = "swarm/v1/other";
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kUnknownType));
    env = sample();
    env.type = EnvelopeType::kOffer;
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kUnknownType));
    env = sample();
    env.type = static_cast<EnvelopeType>(999);
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kUnknownType));
    env = sample();
    env.version = 2;
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kUnknownType));
    env.version = 0;
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kUnknownType));
}

BOOST_AUTO_TEST_CASE(expired_and_future) {
    auto id = Identity::generate();
    auto env = sample();
    env.issuedAtMs = kNow - 700'000;
    env.expiresAtMs = kNow - 100'000;
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kExpired));
    env.expiresAtMs = kNow; // expiry is exclusive
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kExpired));

    env = sample();
    env.issuedAtMs = kNow + 61'000;
    env.expiresAtMs = kNow + 600'000;
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kFromFuture));
    auto lenient = policy();
    lenient.maxSkewMs = 120'000;
    BOOST_TEST(openEnvelope(signEnvelope(id, env), lenient).has_value());

    env = sample();
    env.expiresAtMs = env.issuedAtMs + 48LL * 3600 * 1000; // over the lifetime bound
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kMalformed));
}

BOOST_AUTO_TEST_CASE(oversized_payload_and_envelope) {
    auto id = Identity::generate();
    auto env = sample();
    env.payload.assign(5000, 0x00);
    BOOST_TEST((codeOf(signEnvelope(id, env)) == Error::Code::kTooLarge));
    auto big = policy();
    big.maxPayload = 8000;
    BOOST_TEST(openEnvelope(signEnvelope(id, env), big).has_value());
    Bytes huge(kMaxEnvelopeBytes + 1, 0x90);
    BOOST_TEST((codeOf(huge) == Error::Code::kTooLarge));
}

BOOST_AUTO_TEST_CASE(garbage_is_malformed_not_a_crash) {
    BOOST_TEST(!openEnvelope(Bytes{}, policy()).has_value());
    BOOST_TEST(!openEnvelope(Bytes{0x92, 0xc4}, policy()).has_value());
    BOOST_TEST((codeOf(pack(std::vector<int>{1, 2})) == Error::Code::kMalformed));
    BOOST_TEST((codeOf(pack(std::string("hello"))) == Error::Code::kMalformed));
}

BOOST_AUTO_TEST_CASE(replay_is_refused_by_nonce_cache) {
    auto id = Identity::generate();
    auto bytes = signEnvelope(id, sample());
    NonceCache cache;
    auto env = openEnvelope(bytes, policy());
    BOOST_REQUIRE(env);
    BOOST_TEST(cache.insert(env->signer, env->nonce, env->expiresAtMs, kNow));
    auto again = openEnvelope(bytes, policy());
    BOOST_REQUIRE(again);
    BOOST_TEST(!cache.insert(again->signer, again->nonce, again->expiresAtMs, kNow));
}

BOOST_AUTO_TEST_SUITE_END()

#pragma once

#include "wire/identity.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>

namespace swarm::submitter {

/// The offers a job has out: the one-time token of each (whom it was offered
/// to, until when) and when each worker was last offered work. Pure logic:
/// time comes in as arguments, tokens from libsodium's random bytes. Not
/// thread-safe; the job runner's lock guards it.
class OfferBook {
public:
    using Token = std::array<std::uint8_t, 16>;

    /// A worker without a session is offered work again after this long.
    static constexpr std::int64_t kReofferMs = 20'000;
    /// How long an offer's token may be presented.
    static constexpr std::int64_t kLifetimeMs = 60'000;

    /// A fresh token for `worker` (peer id `id`) if it may be offered work
    /// at `nowMs`: not offered within kReofferMs. nullopt otherwise.
    std::optional<Token> offer(const std::string& id, const wire::PublicKey& worker,
                               std::int64_t nowMs);

    /// Spends `token` for the worker with key `worker`: it must have been
    /// offered to that worker and not have expired. A token is spent
    /// whatever the verdict. The error is one line for the log and the
    /// worker.
    std::expected<void, std::string> redeem(const Token& token, const wire::PublicKey& worker,
                                            std::int64_t nowMs);

    /// Drops tokens expired at `nowMs`.
    void expire(std::int64_t nowMs);

    /// Tokens not yet spent or expired (for tests).
    std::size_t outstanding() const { return tokens_.size(); }

private:
    struct Pending {
        wire::PublicKey worker;
        std::int64_t expiresMs = 0;
    };
    std::map<Token, Pending> tokens_;
    std::map<std::string, std::int64_t> lastOffer_; // worker id -> when
};

} // namespace swarm::submitter

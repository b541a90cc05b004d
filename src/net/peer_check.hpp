#pragma once

#include "net/error.hpp"
#include "wire/identity.hpp"
#include "wire/trust_list.hpp"

#include <expected>
#include <functional>
#include <memory>

namespace swarm::net {

/// Decides, inside the TLS handshake, whether the peer's Ed25519 key may
/// proceed. Returns kUntrusted with a reason to abort the handshake. Called
/// on the session's thread; must be thread-safe if shared and must not throw
/// (an exception counts as a rejection).
using PeerCheck = std::function<std::expected<void, Error>(const wire::PublicKey&)>;

/// Accepts exactly the peers on `trust` (a snapshot, copied).
PeerCheck allowList(wire::TrustList trust);

/// Accepts the peers on `trust` whose key is also `named` (the submitter an
/// offer named). Both conditions must hold.
PeerCheck allowListAndKey(wire::TrustList trust, const wire::PublicKey& named);

/// Accepts peers for which `allowed` returns true (e.g. a lookup in a live,
/// lock-protected trust list owned by the caller).
PeerCheck allowIf(std::function<bool(const wire::PublicKey&)> allowed);

} // namespace swarm::net

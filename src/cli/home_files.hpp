#pragma once

#include "wire/identity.hpp"
#include "wire/trust_list.hpp"

namespace swarm::cli {

struct Globals;

/// This node's identity from the swarm home. Throws std::runtime_error
/// naming the file when it is missing or unreadable.
wire::Identity requireIdentity(const Globals& globals);

/// The allow-list from the swarm home (empty if there is none yet). Throws
/// std::runtime_error naming the file when it cannot be read.
wire::TrustList requireTrust(const Globals& globals);

} // namespace swarm::cli

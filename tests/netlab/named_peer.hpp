#pragma once

// What the lab's peer programs (connect_peer, discover_peer) share: keys
// derived from a peer's name, so that the peers and their test need no key
// files, and one line of output at a time for the test to read.

#include "base/sha256.hpp"
#include "wire/identity.hpp"

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

namespace swarm::netlab {

/// The key pair of the peer called `name` (its seed: SHA-256 of the name).
inline wire::Identity identityOf(std::string_view name) {
    auto seed = base::Sha256::of(
        std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
    return wire::Identity::fromSeed(seed);
}

/// Prints `line` to stdout at once.
inline void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

} // namespace swarm::netlab

#pragma once

#include "wire/error.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::dht {

/// A bootstrap node as written by a user: a host name or address and a port.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
    /// "host:port", with brackets around an IPv6 address.
    std::string str() const;
    auto operator<=>(const HostPort&) const = default;
};

/// The port a stock OpenDHT node listens on, used when none is given.
inline constexpr std::uint16_t kDefaultDhtPort = 4222;

/// Parses "host:port", "host" (default port), "[v6]:port" or "[v6]".
/// kInvalidArgument names the problem (empty host, bad port).
std::expected<HostPort, wire::Error> parseHostPort(std::string_view text);

/// Merges the bootstrap lists from the command line, the config file and
/// the SWARM_BOOTSTRAP environment value (comma- or space-separated; passed
/// in, never read here). Order: flags, config, env; duplicates removed.
/// The first malformed entry is an error naming where it came from.
std::expected<std::vector<HostPort>, wire::Error>
mergeBootstrap(const std::vector<std::string>& flags, const std::vector<std::string>& config,
               const std::optional<std::string>& env);

} // namespace swarm::dht

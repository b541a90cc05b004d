#pragma once

#include "wire/error.hpp"

#include <expected>
#include <filesystem>
#include <string>
#include <vector>

namespace swarm::submitter {

/// The submitter's optional settings file, `submitter.toml` in the swarm
/// home, so that the DHT settings need not be repeated on every command:
///
///     swarm = "lab"
///     bootstrap = ["dht.example.org:4222", "10.0.0.5:4222"]
///     dht_address = "127.0.0.1"
///     lan_discovery = false
///
/// Flags override `swarm` and `dht_address`; the bootstrap list is the
/// union of `--bootstrap` flags, this file and `SWARM_BOOTSTRAP`.
struct SubmitConfig {
    std::string swarm; ///< "" = not set
    std::vector<std::string> bootstrap;
    std::string dhtAddress; ///< "" = not set
    bool lanDiscovery = false;
};

std::filesystem::path submitConfigPath(const std::filesystem::path& home);

/// Reads `path`. A missing file gives an empty config; a malformed one, an
/// unknown key or a value of the wrong type is an error naming the file and
/// line (kMalformed).
std::expected<SubmitConfig, wire::Error> loadSubmitConfig(const std::filesystem::path& path);

} // namespace swarm::submitter

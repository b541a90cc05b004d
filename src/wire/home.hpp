#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace swarm::wire {

/// Looks up an environment variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

/// The real environment (std::getenv). For main() only.
std::optional<std::string> processEnv(const char* name);

/// The swarm home: `flag` (--home) if given, else $SWARM_HOME, else
/// $XDG_CONFIG_HOME/swarm, else $HOME/.config/swarm. Throws
/// std::runtime_error if none of them is set.
std::filesystem::path resolveHome(const std::optional<std::string>& flag, const EnvLookup& env);

/// Files inside a swarm home.
inline std::filesystem::path identityPath(const std::filesystem::path& home) {
    return home / "identity.key";
}
inline std::filesystem::path trustPath(const std::filesystem::path& home) {
    return home / "trust.toml";
}

/// Writes `data` to `path` atomically: a temp file in the same directory
/// with `mode`, fsync, rename. Creates missing parent directories (0700).
/// Throws std::system_error on I/O failure.
void writeFileAtomic(const std::filesystem::path& path, std::string_view data, unsigned mode);

} // namespace swarm::wire

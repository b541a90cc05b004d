#pragma once

#include <expected>
#include <filesystem>
#include <string>

namespace swarm::sandbox {

/// The image the doctor's probe containers run: Debian's static busybox and
/// nothing else, built by the worker itself (no registry is needed). Bump
/// the tag when its content changes.
inline constexpr const char* kProbeImage = "localhost/swarm-probe:1";

/// Makes kProbeImage present in the storage of the Podman service at
/// `socket`: if it is missing, builds a root file system in memory from
/// `busybox` (a static binary, with a link per applet it lists, a passwd
/// and group with `nobody`, an empty /work and a 1777 /tmp) and imports it.
/// Returns why it could not (no busybox, Podman refused the import). Blocks
/// for up to a few seconds on a first build.
std::expected<void, std::string>
ensureProbeImage(const std::filesystem::path& socket,
                 const std::filesystem::path& busybox = "/bin/busybox");

} // namespace swarm::sandbox

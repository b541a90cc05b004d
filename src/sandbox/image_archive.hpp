#pragma once

#include "sandbox/tar_writer.hpp"
#include "wire/bytes.hpp"
#include "wire/error.hpp"

#include <expected>
#include <string>

namespace swarm::sandbox {

/// Rewrites a docker-archive or oci-archive tar, in place in memory, so that
/// it names no image: Podman's image load would apply any name it carries,
/// moving a tag that others use onto this image. Every entry is checked
/// (safe, unique paths; nothing below a symlink; files, directories and
/// links only) and written again with a plain ustar header; the legacy
/// `repositories` file is dropped; `manifest.json` and `index.json` are
/// replaced by copies that hold only the fields needed to load (no
/// RepoTags, no annotations). Returns the id of the image Podman will load
/// (64 hex digits: the SHA-256 of its config, hashed here from the bytes):
/// the OCI image if there is one, else the first image of manifest.json.
/// kMalformed, naming the problem, for an archive it refuses. Never throws
/// for bad content.
std::expected<std::string, wire::Error> untagImageArchive(std::string& tar);

/// The same judgement, with the untagged archive written to `out` instead
/// (for an archive mapped from disk: nothing of its size is copied into
/// memory). `out` may throw; its exception comes out of this call.
std::expected<std::string, wire::Error> untagImageArchive(wire::ByteView tar,
                                                          const TarWriter::Sink& out);

} // namespace swarm::sandbox

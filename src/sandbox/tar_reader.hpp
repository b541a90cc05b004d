#pragma once

#include "sandbox/unit_spec.hpp"
#include "wire/bytes.hpp"
#include "wire/error.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace swarm::sandbox {

/// Bounds and layout for extracting an archive that came from a unit.
struct ExtractOptions {
    /// Leading path component every entry must live under, removed on
    /// extraction ("out" for Podman's archive of /work/out). Empty: none.
    std::string stripComponent;
    std::uint64_t maxBytes = 64ull << 20; ///< sum of regular file sizes
    std::uint32_t maxEntries = 1000;      ///< files, directories and links
};

/// Extracts an untrusted tar archive (ustar, GNU long names, pax records;
/// read by libarchive, judged here) into `dest`, which must be an existing
/// directory.
///
/// The whole archive is checked before anything is written. Refused, with
/// nothing written: absolute paths, ".." components, entries outside
/// `stripComponent`, symlinks whose target is absolute or has a ".."
/// component (so no chain of links can lead out of `dest`),
/// hard links to anything but an earlier regular file, entries below a
/// symlink, device nodes, fifos, unknown entry types, duplicates, paths
/// deeper than kMaxOutputDepth (128) components, and archives over the
/// limits. Extraction walks every path component with
/// O_NOFOLLOW and creates files with O_EXCL, so even a race with another
/// writer in `dest` cannot make it write outside. Permission bits are
/// reduced to 0755/0644; owners are not restored.
///
/// Returns the regular files and symlinks with their SHA-256, sorted by
/// path; or kMalformed / kTooLarge / kInvalidArgument describing the first
/// refused entry. Throws std::system_error on local I/O failure.
std::expected<std::vector<OutputFile>, wire::Error> extractTar(wire::ByteView archive,
                                                               const std::filesystem::path& dest,
                                                               const ExtractOptions& options);

/// An archive member's path without "./" prefixes and trailing '/' ("." is
/// ""); nullopt when it is absolute or has "..", "." or empty components.
std::optional<std::string> normaliseArchivePath(std::string path);

/// One parsed archive member (for tests and diagnostics).
struct TarEntry {
    std::string path; ///< as stored (after pax/GNU long names), not normalised
    char type = '0';  ///< ustar type flag ('0' file, '5' dir, '2' symlink, ...)
    std::string linkTarget;
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::size_t dataOffset = 0; ///< offset of the content (just past the header)
};

/// Reads the member headers with libarchive (tar only, uncompressed),
/// judging only the format: kMalformed or kTruncated on a broken archive
/// (bad checksum, malformed pax record, data running past the end), with
/// libarchive's reason and the entry; kInvalidArgument for a type flag
/// other than 0-7 (libarchive would read it as a regular file) or a sparse
/// file; kTooLarge past `maxEntries` or for special headers over 1 MiB or
/// more than 32 for one entry. Each entry's data is checked to be one run
/// of `size` bytes at `dataOffset`. Throws std::bad_alloc only.
std::expected<std::vector<TarEntry>, wire::Error> listTar(wire::ByteView archive,
                                                          std::uint32_t maxEntries);

} // namespace swarm::sandbox

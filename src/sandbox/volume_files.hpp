#pragma once

#include "sandbox/tar_writer.hpp"
#include "sandbox/unit_spec.hpp"
#include "wire/error.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace swarm::sandbox {

/// How ids inside a container's user namespace map to host ids, from
/// Podman's inspect ("HostConfig.IDMappings": "inside:host:count" ranges).
/// No ranges at all means no user namespace: ids map to themselves.
class IdMapping {
public:
    /// Parses the UidMap and GidMap lists; nullopt when a range is malformed.
    static std::optional<IdMapping> parse(const std::vector<std::string>& uidMap,
                                          const std::vector<std::string>& gidMap);

    /// The host owner for an owner inside, or nullopt when it is not mapped.
    std::optional<TarOwner> toHost(TarOwner inside) const;

private:
    struct Range {
        std::uint64_t inside, host, count;
    };
    static std::optional<std::uint32_t> map(const std::vector<Range>& ranges, std::uint32_t id);
    std::vector<Range> uids_, gids_;
};

/// Writes a unit's inputs straight into the host directory of its /work
/// volume, before the container starts: in/ and everything below it owned
/// by `root` (the container's root, mapped) with modes 0555/0444, and an
/// empty out/ owned by `unit` with mode 0755 — the same tree the archive
/// endpoint would have made. Every component is opened with O_NOFOLLOW and
/// files are created with O_EXCL. Returns the bytes written. Throws
/// std::system_error on local I/O failure.
std::uint64_t writeInputs(const std::filesystem::path& volumeDir,
                          const std::vector<InputFile>& inputs, TarOwner root, TarOwner unit);

/// Copies what a unit left in `subdir` (out/, or ckpt/ for a checkpoint)
/// of its volume's host directory into
/// `dest` (an existing empty directory), after the container has exited.
///
/// The same rules as extractTar(): the whole tree is judged before anything
/// is written, walking with O_NOFOLLOW and never opening anything but
/// regular files and directories. Refused, with nothing written: symlinks
/// whose target is absolute or has a ".." component, device nodes, fifos,
/// sockets, more than `maxEntries` entries, more than `maxBytes` in regular
/// files, and trees deeper than 128 levels. Hard-linked files are copied as
/// separate files. Permission bits are reduced to 0755/0644.
///
/// Returns the regular files and symlinks with their SHA-256, sorted by
/// path; kNotFound when `subdir` is missing or not a directory; kTooLarge or
/// kInvalidArgument describing the first refused entry. Throws
/// std::system_error on local I/O failure.
std::expected<std::vector<OutputFile>, wire::Error>
copyOutputs(const std::filesystem::path& volumeDir, const std::filesystem::path& dest,
            std::uint64_t maxBytes, std::uint32_t maxEntries, const std::string& subdir = "out");

} // namespace swarm::sandbox

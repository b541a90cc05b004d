#pragma once

#include "wire/bytes.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// Numeric owner of an archive entry.
struct TarOwner {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

/// Builds a POSIX ustar archive in memory (what Podman's archive endpoint
/// takes). Paths are relative, '/'-separated, without "..". Not thread-safe.
class TarWriter {
public:
    /// Adds a directory entry. Throws std::invalid_argument for a path that
    /// is absolute, contains "..", or does not fit ustar's name fields.
    void addDirectory(std::string_view path, std::uint32_t mode, TarOwner owner = {});
    /// Adds a regular file with the given content; same rules as above.
    void addFile(std::string_view path, wire::ByteView data, std::uint32_t mode,
                 TarOwner owner = {});
    /// Appends the end-of-archive marker and returns the archive. The
    /// writer is empty afterwards.
    wire::Bytes finish();

private:
    void header(std::string_view path, char type, std::uint64_t size, std::uint32_t mode,
                TarOwner owner);
    wire::Bytes out_;
};

/// True when `path` is a safe relative archive path: not empty, not
/// absolute, no "." or ".." or empty components.
bool isSafeRelativePath(std::string_view path) noexcept;

} // namespace swarm::sandbox

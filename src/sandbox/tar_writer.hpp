#pragma once

#include "wire/bytes.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// Numeric owner of an archive entry.
struct TarOwner {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

/// Builds a POSIX ustar archive (what Podman's archive endpoint takes), in
/// memory or streamed to a sink. Entries carry no names of owners and mtime
/// 0, so the same calls give the same bytes. Paths are relative,
/// '/'-separated, without "..". Not thread-safe; movable, not copyable.
class TarWriter {
public:
    /// Receives the archive's bytes in order. It may throw: the exception
    /// is carried past libarchive and rethrown by the add or finish call
    /// that caused the write.
    using Sink = std::function<void(wire::ByteView)>;

    /// Collects the archive in memory; finish() returns it.
    TarWriter();
    /// Hands the archive to `sink` block by block; finish() returns nothing.
    explicit TarWriter(Sink sink);
    TarWriter(TarWriter&&) noexcept;
    TarWriter& operator=(TarWriter&&) noexcept;
    ~TarWriter();

    /// Adds a directory entry. Throws std::invalid_argument for a path that
    /// is absolute, contains "..", or does not fit ustar's name fields.
    void addDirectory(std::string_view path, std::uint32_t mode, TarOwner owner = {});
    /// Adds a regular file with the given content; same rules as above, and
    /// std::invalid_argument for content of 8 GiB or more.
    void addFile(std::string_view path, wire::ByteView data, std::uint32_t mode,
                 TarOwner owner = {});
    /// Adds a symlink to `target` (stored as given, up to 100 bytes; the
    /// caller judges where it leads). Same rules for `path`.
    void addSymlink(std::string_view path, std::string_view target, std::uint32_t mode = 0777);
    /// Adds a hard link to the earlier member `target` (a safe path).
    void addHardLink(std::string_view path, std::string_view target, std::uint32_t mode = 0644);
    /// Appends the end-of-archive marker and returns the archive (empty
    /// when streaming to a sink). The writer is empty afterwards: a
    /// further add starts a new archive.
    wire::Bytes finish();

private:
    struct State;
    std::unique_ptr<State> state_; // null only in a moved-from writer
};

/// True when `path` is a safe relative archive path: not empty, not
/// absolute, no "." or ".." or empty components.
bool isSafeRelativePath(std::string_view path) noexcept;

} // namespace swarm::sandbox

#pragma once

#include "base/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// The deepest path (in components) accepted in a unit's outputs.
constexpr int kMaxOutputDepth = 128;

/// Throws std::system_error for errno, prefixed with `what`.
[[noreturn]] void throwErrno(const std::string& what);

/// Opens the directory `rel` ('/'-separated, may be empty) below the
/// directory `root`, one component at a time with O_NOFOLLOW, so that a
/// symlink anywhere on the way fails (ELOOP or ENOTDIR). With `create`,
/// missing components are made with `mode`. Throws std::system_error.
base::UniqueFd openDirBelow(int root, const std::string& rel, bool create, unsigned mode = 0755);

/// Writes all of `size` bytes to `fd`, retrying on EINTR and short writes.
/// Throws std::system_error naming `what`.
void writeAll(int fd, const std::uint8_t* data, std::size_t size, const std::string& what);

/// The part of `path` before its last '/' ("" for a single component).
std::string parentOf(const std::string& path);
/// The part of `path` after its last '/'.
std::string baseOf(const std::string& path);

/// True when a symlink's target is relative and has no ".." component: then
/// it, and any chain of such links, can only lead downwards. (A lexical
/// check that allowed ".." could be defeated by a chain: a -> "d/l/../.."
/// with d/l -> "../.." resolves above the root.)
bool pointsDownward(std::string_view target);

} // namespace swarm::sandbox

#pragma once

// Looks for what a hostile peer may have made on this machine: every name
// under `/` containing a marker, and new entries in chosen directories.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::hostile {

struct WalkOptions {
    /// Directories not entered (with everything below them). A trailing
    /// '*' makes an entry a prefix: "/tmp/swarmtest-runtime-*".
    std::vector<std::string> skip;
    /// Directories on another file system than the root are not entered.
    bool oneFileSystem = true;
    std::size_t maxEntries = 4'000'000;
    std::chrono::milliseconds maxTime{30'000};
};

/// What walkFor found.
struct WalkReport {
    std::size_t entries = 0; ///< names looked at
    std::size_t dirs = 0;    ///< directories entered
    bool truncated = false;  ///< stopped at maxEntries or maxTime
    std::chrono::milliseconds took{};
    std::vector<std::filesystem::path> matches; ///< paths whose name contains the needle
};

/// The places a test on this machine must not walk into: kernel file
/// systems, /run, and Podman's storage (root's and rootless users'), whose
/// layers hold whole images.
WalkOptions systemWalkOptions();

/// Walks `root` without following symbolic links and collects every entry
/// whose name contains `needle`. Unreadable directories are skipped.
/// Never throws for what it finds on disk.
WalkReport walkFor(const std::filesystem::path& root, std::string_view needle,
                   const WalkOptions& options);

/// The names directly in `dir` (empty if it cannot be read).
std::set<std::string> listDir(const std::filesystem::path& dir);

/// Names in `after` that are not in `before`.
std::vector<std::string> added(const std::set<std::string>& before,
                               const std::set<std::string>& after);

/// True for a name in /tmp that a swarm process (worker, submitter,
/// Podman, conmon, runc) or a unit's hostile value could have made: names
/// starting with "swarm", "planted", "unit", "work", "podman", "libpod",
/// "runc", "conmon", "containers" or "storage". Not counted: the
/// `<name>-XXXXXX` directories other test executables make with mkdtemp
/// while this one runs (`swarm-e2e-*`, `swarmtest-tmp-*`, ...). Everything else new in /tmp on a
/// shared machine (compiler temporaries, editors, other engineers' files) is reported, not failed;
/// a hostile value's path carries the run's marker, which walkFor finds whatever its name.
bool swarmLikeTmpName(std::string_view name);

} // namespace swarm::hostile

#pragma once

#include "submitter/replication_policy.hpp"
#include "wire/error.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

/// Resource limits for one container.
struct Resources {
    double cpus = 1.0;
    std::uint64_t memoryBytes = 512ull << 20;
    std::uint32_t pids = 256;
};

/// One input file of a unit: a local file and the name it gets inside the
/// unit's work dir (the container's working directory).
struct InputFile {
    std::filesystem::path source; ///< absolute, or relative to the process cwd
    std::string name;             ///< safe relative name ("a.txt", "in/a.txt")
};

struct UnitSpec {
    std::string id; ///< safe as a directory name (isSafeUnitId)
    std::vector<InputFile> inputs;
};

/// The image: a reference the worker resolves (e.g. "localhost/tool:1"), or
/// an archive (podman save / import tarball) the submitter ships. Exactly one
/// is set.
struct ImageSpec {
    std::string reference;
    std::optional<std::filesystem::path> archive;
};

/// What a worker must offer for the job's units ([requirements]): work is
/// offered only to workers whose capacity record shows all of it
/// (submitter/requirements.hpp). Empty: any worker.
struct Requirements {
    std::vector<std::string> arch;   ///< any of these ("x86_64", "aarch64"); empty: any
    std::vector<std::string> labels; ///< every one of these
    bool operator==(const Requirements&) const = default;
};

/// A parsed, validated job: what the scheduler and the Assign messages need.
struct JobSpec {
    std::string name; ///< "job" unless given
    ImageSpec image;
    std::vector<std::string> command; ///< argv; empty: the image's default
    std::map<std::string, std::string> env;
    Resources resources;
    Requirements requirements;
    std::int64_t timeoutMs = 10 * 60'000; ///< wall-clock limit per replica run
    ReplicationPolicy policy;
    std::vector<UnitSpec> units;      ///< in job order, ids unique
    std::vector<std::string> outputs; ///< paths to collect, relative to the work dir
};

/// The unit's command: the job's command with every "{}" inside a word
/// replaced by "in/" and the name of the unit's first input (inputs are
/// copied to in/ below the work dir, /work in the container; outputs are
/// collected from out/). Parsing guarantees that a
/// job whose command contains "{}" gives every unit at least one input.
std::vector<std::string> unitCommand(const JobSpec& job, const UnitSpec& unit);

/// Unit ids become directory names: 1 to 128 characters from [A-Za-z0-9._-],
/// not starting with '.' or '-'.
bool isSafeUnitId(std::string_view id) noexcept;

/// Parses "512M", "1G", "64K", "1024" (bytes; K/M/G/T are powers of 1024,
/// an optional trailing "i" or "iB"/"B" is accepted). nullopt if malformed
/// or overflowing.
std::optional<std::uint64_t> parseSize(std::string_view text) noexcept;

/// Parses a duration: "500ms", "30s", "5m", "2h" or a bare number of
/// seconds. nullopt if malformed, zero or negative.
std::optional<std::int64_t> parseDurationMs(std::string_view text) noexcept;

/// Parses and validates a job file. `displayName` prefixes every message
/// (normally the path as the user typed it); relative paths in the file
/// (inputs, globs, image archive) are resolved against `baseDir` (the
/// file's directory), and input files must exist. Errors are
/// kInvalidArgument with one line of the form
/// "job.toml:7: quorum (3) is larger than replicas (2)". Never throws for
/// bad content; may throw std::system_error if the file system fails.
std::expected<JobSpec, wire::Error> parseJobToml(std::string_view text,
                                                 std::string_view displayName,
                                                 const std::filesystem::path& baseDir);

/// Reads `path` and calls parseJobToml (baseDir = the file's directory).
/// A missing or unreadable file is kIo.
std::expected<JobSpec, wire::Error> loadJobFile(const std::filesystem::path& path);

/// A self-contained TOML form of `job` (absolute paths, explicit [[unit]]
/// entries) that parseJobToml() turns back into an equal JobSpec: what the
/// journal stores so that a resumed run needs neither the original job file
/// nor the original command line. Input files must still exist to re-parse.
std::string jobSpecToToml(const JobSpec& job);

/// The one-line form: `swarm-submit run --image IMG [--replicas R]
/// [--quorum Q] [--timeout T] -- CMD ARGS... ::: FILE...`.
struct OneLineJob {
    std::string image;
    std::uint32_t replicas = 2;
    std::uint32_t quorum = 2;
    std::optional<std::string> timeout; ///< as typed ("30s"); default 10m
    std::vector<std::string> command;   ///< with "{}" placeholders
    std::vector<std::filesystem::path> files;
};

/// Builds a job with one unit per file: the unit id is the file name made
/// safe (unsafe characters become '_'), the file is shipped under its base
/// name, and unitCommand() replaces every "{}" in the command words by
/// "in/<name>" (relative to the work dir, the container's working
/// directory). Validates like parseJobToml (no line numbers: messages name
/// the option).
std::expected<JobSpec, wire::Error> oneLineJob(const OneLineJob& args);

} // namespace swarm::submitter

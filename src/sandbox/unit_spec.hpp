#pragma once

#include "sandbox/log_tap.hpp"
#include "wire/digest.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace swarm::sandbox {

class FreezeControl;

/// Resource bounds of one unit. Every field has a safe default.
struct Limits {
    std::uint64_t memoryBytes = 256ull << 20;   ///< cgroup memory (+swap) limit
    std::uint32_t cpuMillis = 1000;             ///< CPU quota, 1000 = one core
    std::uint32_t pids = 64;                    ///< cgroup pids limit (and RLIMIT_NPROC)
    std::uint64_t scratchBytes = 64ull << 20;   ///< size of the tmpfs at /tmp
    std::chrono::milliseconds timeout{60'000};  ///< wall clock, start to exit
    std::uint64_t maxOutputBytes = 64ull << 20; ///< sum of output file sizes
    std::uint32_t maxOutputFiles = 1000;        ///< entries under /work/out
    std::uint64_t maxLogBytes = 1ull << 20;     ///< stdout + stderr kept
    std::uint64_t maxFileBytes = 256ull << 20;  ///< RLIMIT_FSIZE: largest file a unit may write
};

/// How long a unit given back has, after SIGTERM, to write its checkpoint
/// and exit before it is killed.
inline constexpr std::chrono::milliseconds kGiveBackGrace{5'000};

/// One input file, copied to /work/in/<name> (read-only for the unit).
struct InputFile {
    std::string name;             ///< relative path, no "..", no leading "/"
    std::filesystem::path source; ///< host file to copy
};

/// What to run. Plain data; validated by the runtime.
struct UnitSpec {
    std::string unitId;   ///< goes into the container name and labels
    std::string workerId; ///< label used by cleanupLeftovers()
    std::string image;    ///< a local image: name, id or "name@sha256:..."
    std::vector<std::string> command;
    std::map<std::string, std::string> env;
    std::vector<InputFile> inputs;
    /// Host directory that receives /work/out; must exist and be empty.
    std::filesystem::path outputDir;
    /// "uid:gid" inside the container; never root. Any numeric id works in
    /// any image (no passwd entry needed).
    std::string user = "65534:65534";
    Limits limits;
    /// Asks for the unit to end early (its submitter cancelled it): the
    /// runtime kills the container within a quarter second and reports
    /// error "killed: cancelled" with no outputs.
    std::stop_token stop;
    /// Asks for the unit to be given back (the worker stops, or its schedule
    /// window closed): the runtime sends the container SIGTERM, waits up to
    /// `giveBackGrace` for it to exit (time for the unit to write its
    /// checkpoint), then kills it, and collects /work/ckpt instead of
    /// /work/out (UnitResult::givenBack).
    std::stop_token giveBack;
    std::chrono::milliseconds giveBackGrace{kGiveBackGrace};
    /// Sees the unit's stdout and stderr while it runs (borrowed for the
    /// run; may be null). Only while Podman's attach stream works: output
    /// read from the log file after exit does not pass through it.
    LogTap* tap = nullptr;
    /// The worker's freeze switch (borrowed for the run; may be null): while
    /// it is on, the unit is frozen (FreezeMethod) and its timeout does not
    /// run; the container's init pid is registered there while it runs.
    FreezeControl* freeze = nullptr;
};

/// One file the unit left in /work/out.
struct OutputFile {
    std::string path;       ///< relative to outputDir
    std::uint64_t size = 0; ///< bytes (0 for symlinks)
    wire::Digest digest;    ///< SHA-256 of the content (of the target text for symlinks)
    std::string linkTarget; ///< non-empty for a symlink (always inside outputDir)
};

/// How a unit ended.
struct UnitResult {
    bool started = false;  ///< false: create/copy-in/start failed (see error)
    int exitCode = -1;     ///< the main process' exit status (128+signal if killed)
    bool timedOut = false; ///< killed by us at the wall-clock timeout
    bool oomKilled = false;
    std::chrono::milliseconds wallTime{0};
    std::string stdoutText; ///< at most Limits::maxLogBytes together with stderr
    std::string stderrText;
    bool logsTruncated = false;   ///< stdoutTruncated || stderrTruncated
    bool stdoutTruncated = false; ///< bytes of stdout past the cap were dropped
    bool stderrTruncated = false;
    std::vector<OutputFile> outputs; ///< sorted by path; empty if outputs were refused
    bool outputsRejected = false;    ///< over a cap or an unsafe archive entry
    std::string error;               ///< one line for a human; empty when all went well
    /// Inputs and outputs went through the volume's host directory rather
    /// than Podman's archive endpoints (see HostProfile::directVolumeCopies).
    bool copiedDirectly = false;
    /// It was given back (UnitSpec::giveBack): `outputs` are its checkpoint,
    /// the files it left in /work/ckpt (paths relative to ckpt/), none when
    /// it kept none; over a cap, none and `error` says so.
    bool givenBack = false;
    /// How long it was frozen (UnitSpec::freeze), part of wallTime but not
    /// of its timeout.
    std::chrono::milliseconds frozenTime{0};

    /// True when the unit ran to completion with exit 0 and usable outputs.
    bool ok() const noexcept {
        return started && exitCode == 0 && !timedOut && !oomKilled && !outputsRejected &&
               error.empty();
    }
};

} // namespace swarm::sandbox

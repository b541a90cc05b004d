#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swarm::test {

/// Where one standard stream of a child goes.
struct Stream {
    enum class Kind { kInherit, kNull, kPipe, kFile };
    Kind kind = Kind::kInherit;
    std::filesystem::path file;
    bool append = true; ///< for kFile: append, else truncate

    /// Ours (the test's or benchmark's own stream).
    static Stream inherit() { return {}; }
    /// /dev/null.
    static Stream null() { return {Kind::kNull, {}, true}; }
    /// A pipe to us: stdin written by us (closeInput()), stdout read by
    /// readLine(). Not for stderr.
    static Stream pipe() { return {Kind::kPipe, {}, true}; }
    static Stream appendTo(std::filesystem::path f) { return {Kind::kFile, std::move(f), true}; }
    static Stream truncate(std::filesystem::path f) { return {Kind::kFile, std::move(f), false}; }
};

struct ChildOptions {
    /// Set on top of our environment; an empty value removes a variable.
    std::map<std::string, std::string> env;
    Stream in = Stream::null();
    Stream out = Stream::inherit();
    Stream err = Stream::inherit();
    /// Where the child starts; ours when unset.
    std::optional<std::filesystem::path> workDir;
    /// A process group of its own, so that a terminal's ^C reaches only us.
    bool ownProcessGroup = false;
};

/// stdout and stderr appended to files, stdin from /dev/null, working in the
/// directory of `out` (Podman's conmon, for one, leaves an "oom" file in its
/// working directory), in a process group of its own.
ChildOptions logFiles(const std::filesystem::path& out, const std::filesystem::path& err,
                      std::map<std::string, std::string> env = {});

/// A child process started by a test or a benchmark: the one way they run
/// programs. It starts with default signal handling and an empty signal
/// mask whatever ours are. Every wait is bounded; the destructor SIGKILLs it
/// by its pid if it still runs and reaps it. Only ever signals the process
/// it started. Not thread-safe: one thread owns it.
class ChildProcess {
public:
    /// Starts `program` (a path, not looked up in PATH) with `args` after
    /// argv[0]. Throws std::system_error when it cannot be started.
    ChildProcess(const std::string& program, const std::vector<std::string>& args,
                 ChildOptions options = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    /// Sends `sig` if it still runs.
    void signal(int sig);
    /// Whether it still runs (reaps it when it has exited).
    bool running();
    /// Waits at most `timeout` for it to exit; its exit status (128+signal if
    /// a signal ended it), or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    /// SIGTERM, then SIGKILL after `grace`; always reaps. Its exit status.
    std::optional<int> terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
    /// Whether a signal ended it (once it has exited).
    bool signalled() const { return signalled_; }
    /// CPU milliseconds it (and the children it reaped) used, once it has
    /// exited.
    double cpuMs() const { return cpuMs_; }

    /// With a piped stdout: the next line of it without its newline, or
    /// nullopt when none came within `timeout` or the pipe closed
    /// (outputClosed()).
    std::optional<std::string> readLine(std::chrono::milliseconds timeout);
    bool outputClosed() const { return outClosed_; }
    /// With a piped stdin: writes `line` and a newline (blocking; a child
    /// that reads its input takes it). False when the pipe is closed.
    bool writeLine(const std::string& line);
    /// With a piped stdin: closes it (the child reads end of file).
    void closeInput();

private:
    bool reap(bool block);

    pid_t pid_ = -1;
    std::optional<int> status_;
    bool signalled_ = false;
    double cpuMs_ = 0;
    int in_ = -1;  // write end of a piped stdin
    int out_ = -1; // read end of a piped stdout
    bool outClosed_ = false;
    std::string buffered_;
};

/// What runProgram saw.
struct RunResult {
    int status = -1; ///< exit status; -1 when it had to be killed
    std::string out;
    std::string err;
};

/// Runs a program to completion (killed after `timeout`), stdout and stderr
/// captured through files in a temporary directory it works in.
RunResult runProgram(const std::string& program, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout,
                     const std::map<std::string, std::string>& env = {});

} // namespace swarm::test

#pragma once

#include "support/temp_dir.hpp"

// Child processes and temporary directories for the dht integration tests.
// Every process started here is killed by its own pid and reaped.

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace swarm::dht::test {

using TempDir = swarm::test::TempDir;

/// A child process with its stdout on a pipe and stderr in a file.
class Process {
public:
    Process(const std::string& program, const std::vector<std::string>& args,
            const std::filesystem::path& stderrFile) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(program.c_str()));
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::system_error(rc, std::generic_category(), "posix_spawn " + program);
        }
        out_ = fds[0];
    }
    ~Process() {
        kill();
        if (out_ >= 0)
            close(out_);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }

    /// Reads stdout until a line containing `needle` or EOF or timeout;
    /// returns that line.
    std::optional<std::string> waitLine(const std::string& needle,
                                        std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (auto pos = buf_.find('\n'); pos != std::string::npos; pos = buf_.find('\n')) {
                auto line = buf_.substr(0, pos);
                buf_.erase(0, pos + 1);
                if (line.find(needle) != std::string::npos)
                    return line;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return std::nullopt;
            pollfd p{out_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
                continue;
            char chunk[512];
            auto n = read(out_, chunk, sizeof chunk);
            if (n <= 0)
                return std::nullopt;
            buf_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    /// Waits (bounded) for the process to exit; its status or nullopt.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        if (pid_ <= 0)
            return status_;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int st = 0;
            auto r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                status_ = st;
                return st;
            }
            if (std::chrono::steady_clock::now() >= deadline)
                return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    bool running() { return pid_ > 0 && !wait(std::chrono::milliseconds(0)); }

    /// SIGTERM, then SIGKILL after `grace`; always reaps.
    std::optional<int> terminate(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            if (auto st = wait(grace))
                return st;
        }
        kill();
        return status_;
    }

private:
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            waitpid(pid_, &st, 0);
            status_ = st;
            pid_ = -1;
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    std::string buf_;
    std::optional<int> status_;
};

} // namespace swarm::dht::test

#include "support/child_process.hpp"

#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace swarm::test {

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// Owns the posix_spawn attribute objects for the length of a spawn.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~SpawnSetup() {
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Both ends of a pipe, closed on destruction unless released.
struct Pipe {
    int fds[2] = {-1, -1};
    Pipe() {
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    ~Pipe() {
        for (int fd : fds)
            if (fd >= 0)
                ::close(fd);
    }
    int release(int end) { return std::exchange(fds[end], -1); }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
};

void redirect(posix_spawn_file_actions_t& fa, int fd, const Stream& s, int pipeEnd) {
    switch (s.kind) {
    case Stream::Kind::kInherit:
        break;
    case Stream::Kind::kNull:
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
        break;
    case Stream::Kind::kPipe:
        posix_spawn_file_actions_adddup2(&fa, pipeEnd, fd);
        break;
    case Stream::Kind::kFile:
        posix_spawn_file_actions_addopen(
            &fa, fd, s.file.c_str(), O_WRONLY | O_CREAT | (s.append ? O_APPEND : O_TRUNC), 0600);
        break;
    }
}

// Our environment with `env` on top; an empty value removes a variable.
std::vector<std::string> environment(const std::map<std::string, std::string>& env) {
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv = *e;
        if (!env.contains(kv.substr(0, kv.find('='))))
            out.push_back(std::move(kv));
    }
    for (const auto& [k, v] : env)
        if (!v.empty())
            out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

double ms(const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
}

} // namespace

ChildOptions logFiles(const std::filesystem::path& out, const std::filesystem::path& err,
                      std::map<std::string, std::string> env) {
    ChildOptions o;
    o.env = std::move(env);
    o.out = Stream::appendTo(out);
    o.err = Stream::appendTo(err);
    o.workDir = std::filesystem::absolute(out).parent_path();
    o.ownProcessGroup = true;
    return o;
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           ChildOptions options) {
    std::optional<Pipe> inPipe, outPipe;
    if (options.in.kind == Stream::Kind::kPipe)
        inPipe.emplace();
    if (options.out.kind == Stream::Kind::kPipe)
        outPipe.emplace();
    SpawnSetup s;
    redirect(s.actions, 0, options.in, inPipe ? inPipe->fds[0] : -1);
    redirect(s.actions, 1, options.out, outPipe ? outPipe->fds[1] : -1);
    redirect(s.actions, 2, options.err, -1);
    if (options.workDir)
        posix_spawn_file_actions_addchdir_np(&s.actions, options.workDir->c_str());
    sigset_t none, deflt;
    sigemptyset(&none);
    sigemptyset(&deflt);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP})
        sigaddset(&deflt, sig);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &deflt);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (options.ownProcessGroup)
        flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setflags(&s.attr, flags);

    std::vector<std::string> argStrings{program};
    argStrings.insert(argStrings.end(), args.begin(), args.end());
    auto argv = pointers(argStrings);
    auto envStrings = environment(options.env);
    auto envp = pointers(envStrings);
    int rc = posix_spawn(&pid_, program.c_str(), &s.actions, &s.attr, argv.data(), envp.data());
    if (rc != 0) {
        pid_ = -1;
        throw std::system_error(rc, std::generic_category(), "cannot start " + program);
    }
    if (inPipe)
        in_ = inPipe->release(1);
    if (outPipe)
        out_ = outPipe->release(0);
}

ChildProcess::~ChildProcess() {
    closeInput();
    if (out_ >= 0)
        ::close(out_);
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(10s);
    }
}

bool ChildProcess::reap(bool block) {
    if (status_ || pid_ <= 0)
        return true;
    int st = 0;
    rusage ru{};
    pid_t r = ::wait4(pid_, &st, block ? 0 : WNOHANG, &ru);
    if (r != pid_)
        return false;
    signalled_ = WIFSIGNALED(st);
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    cpuMs_ = ms(ru.ru_utime) + ms(ru.ru_stime);
    return true;
}

void ChildProcess::signal(int sig) {
    if (running())
        ::kill(pid_, sig);
}

bool ChildProcess::running() {
    return !reap(false);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    auto deadline = Steady::now() + timeout;
    while (running() && Steady::now() < deadline)
        std::this_thread::sleep_for(10ms);
    return status_;
}

std::optional<int> ChildProcess::terminate(std::chrono::milliseconds grace) {
    signal(SIGTERM);
    if (auto st = wait(grace))
        return st;
    signal(SIGKILL);
    reap(true);
    return status_;
}

std::optional<std::string> ChildProcess::readLine(std::chrono::milliseconds timeout) {
    auto deadline = Steady::now() + timeout;
    for (;;) {
        if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
            auto line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        if (out_ < 0 || outClosed_)
            return std::nullopt;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char chunk[4096];
        auto n = ::read(out_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            outClosed_ = true;
            return std::nullopt;
        }
        buffered_.append(chunk, static_cast<std::size_t>(n));
    }
}

bool ChildProcess::writeLine(const std::string& line) {
    if (in_ < 0)
        return false;
    const std::string text = line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(in_, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void ChildProcess::closeInput() {
    if (in_ >= 0)
        ::close(std::exchange(in_, -1));
}

RunResult runProgram(const std::string& program, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout,
                     const std::map<std::string, std::string>& env) {
    TempDir dir("swarm-run");
    RunResult r;
    {
        ChildProcess c(program, args, logFiles(dir / "out", dir / "err", env));
        auto st = c.wait(timeout);
        if (!st) {
            c.signal(SIGKILL);
            c.wait(5s);
        }
        r.status = st.value_or(-1);
    }
    r.out = readFile(dir / "out");
    r.err = readFile(dir / "err");
    return r;
}

} // namespace swarm::test

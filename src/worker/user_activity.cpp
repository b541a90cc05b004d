#include "worker/user_activity.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

extern char** environ;

namespace swarm::worker {

namespace {
constexpr const char* kLoginctl = "/usr/bin/loginctl";
} // namespace

std::vector<std::string> parseSessionIds(std::string_view text) {
    std::vector<std::string> ids;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id;
        if (fields >> id &&
            id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == std::string::npos)
            ids.push_back(id);
    }
    return ids;
}

std::optional<LoginSession> parseSession(std::string_view text) {
    LoginSession s;
    bool sawActive = false;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        const auto key = line.substr(0, eq);
        const auto value = line.substr(eq + 1);
        if (key == "Active") {
            s.active = value == "yes";
            sawActive = true;
        } else if (key == "IdleHint") {
            s.idle = value == "yes";
        } else if (key == "Type") {
            s.type = value;
        } else if (key == "Remote") {
            s.remote = value == "yes";
        } else if (key == "Class") {
            s.sessionClass = value;
        }
    }
    if (!sawActive)
        return std::nullopt;
    return s;
}

// A login screen (class greeter) is active and local but nobody's session.
bool userActive(const LoginSession& s) {
    const bool local = s.type == "x11" || s.type == "wayland" || s.type == "mir" || s.type == "tty";
    const bool user = s.sessionClass.empty() || s.sessionClass == "user";
    return s.active && !s.idle && !s.remote && local && user;
}

std::optional<bool> UserActivity::check() {
    // By its path: never a `loginctl` that PATH happens to name first.
    auto list = run_({kLoginctl, "list-sessions", "--no-legend"});
    if (!list)
        return std::nullopt;
    for (const auto& id : parseSessionIds(*list)) {
        auto props = run_({kLoginctl, "show-session", id, "-p", "Active", "-p", "IdleHint", "-p",
                           "Type", "-p", "Remote", "-p", "Class"});
        if (!props)
            continue; // the session ended meanwhile
        if (auto s = parseSession(*props); s && userActive(*s))
            return true;
    }
    return false;
}

namespace {

// Reads the child's stdout until EOF, the deadline or the cap.
bool readUntil(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, POLLIN, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > (64u << 10))
            return false;
    }
}

std::optional<std::string> spawnAndRead(const std::vector<std::string>& argv,
                                        std::chrono::milliseconds timeout) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return std::nullopt;
    base::UniqueFd readEnd(fds[0]);
    base::UniqueFd writeEnd(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    writeEnd.reset();
    if (rc != 0)
        return std::nullopt;
    std::string out;
    const bool complete = readUntil(readEnd.get(), out, std::chrono::steady_clock::now() + timeout);
    if (!complete)
        ::kill(pid, SIGKILL); // our own child, by its pid
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::nullopt;
    return out;
}

} // namespace

UserActivity::Run spawnCommand(std::chrono::milliseconds timeout) {
    return [timeout](const std::vector<std::string>& argv) { return spawnAndRead(argv, timeout); };
}

} // namespace swarm::worker

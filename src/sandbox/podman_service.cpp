#include "sandbox/podman_service.hpp"

#include "base/error_kind.hpp"
#include "sandbox/podman_client.hpp"
#include "wire/log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace swarm::sandbox {

namespace {

const wire::Logger kLog("sandbox");

std::string tailOf(const std::filesystem::path& file, std::size_t max) {
    std::ifstream in(file, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (s.size() > max)
        s = s.substr(s.size() - max);
    for (auto& ch : s)
        if (ch == '\n')
            ch = ' ';
    return s;
}

} // namespace

std::optional<std::filesystem::path>
findContainersConf(const std::optional<std::filesystem::path>& explicitPath,
                   const wire::EnvLookup& env,
                   const std::optional<std::filesystem::path>& sourceTree) {
    if (explicitPath)
        return std::filesystem::exists(*explicitPath) ? explicitPath : std::nullopt;
    if (auto v = env("SWARM_CONTAINERS_CONF"))
        return std::filesystem::path(*v);
    for (const char* dir : {"/usr/local/share/swarm", "/usr/share/swarm"}) {
        std::filesystem::path p = std::filesystem::path(dir) / "containers.conf";
        if (std::filesystem::exists(p))
            return p;
    }
    if (sourceTree) {
        auto p = *sourceTree / "packaging" / "containers.conf";
        if (std::filesystem::exists(p))
            return p;
    }
    return std::nullopt;
}

namespace {

// A socket where a Podman service may already be listening.
struct Candidate {
    std::filesystem::path socket;
    std::string origin;
};

// $CONTAINER_HOST (unix:// only), else the user's or the system's socket.
std::vector<Candidate> candidateSockets(const wire::EnvLookup& env) {
    std::vector<Candidate> candidates;
    if (auto host = env("CONTAINER_HOST")) {
        if (!host->starts_with("unix://"))
            throw base::Failure(base::PodmanErrc::kMisconfigured,
                                "CONTAINER_HOST must be a unix:// address, got '" + *host + "'");
        candidates.push_back({host->substr(7), "CONTAINER_HOST"});
    } else if (::geteuid() != 0) {
        if (auto rt = env("XDG_RUNTIME_DIR"))
            candidates.push_back(
                {std::filesystem::path(*rt) / "podman/podman.sock", "user socket"});
    } else {
        candidates.push_back({"/run/podman/podman.sock", "system socket"});
    }
    return candidates;
}

std::optional<Candidate> firstAnswering(const std::vector<Candidate>& candidates) {
    using namespace std::chrono_literals;
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c.socket) && PodmanClient(c.socket).ping(2s))
            return c;
    }
    return std::nullopt;
}

// A fresh 0700 directory (mkdtemp) for a private service's socket and log.
std::filesystem::path makePrivateDir(const wire::EnvLookup& env) {
    std::filesystem::path base = env("XDG_RUNTIME_DIR").value_or("/tmp");
    if (!std::filesystem::is_directory(base))
        base = "/tmp";
    std::string templ = (base / "swarm-podman-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    return templ;
}

// Everything the child needs, prepared before fork(): after it, only
// async-signal-safe calls. Built in place (argv and envp point into the
// strings), so neither copied nor moved.
struct ServiceCommand {
    ServiceCommand(const ServiceOptions& options, const std::filesystem::path& sock,
                   const std::filesystem::path& logFile)
        : args{options.podmanBinary, "system", "service", "--time=0", "unix://" + sock.string()},
          logPath(logFile.string()) {
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        for (char** e = environ; e && *e; ++e) {
            if (std::strncmp(*e, "CONTAINERS_CONF=", 16) != 0)
                envStore.emplace_back(*e);
        }
        if (options.containersConf)
            envStore.push_back("CONTAINERS_CONF=" + options.containersConf->string());
        for (auto& e : envStore)
            envp.push_back(e.data());
        envp.push_back(nullptr);
    }
    ServiceCommand(const ServiceCommand&) = delete;
    ServiceCommand& operator=(const ServiceCommand&) = delete;

    std::vector<std::string> args;
    std::vector<char*> argv;
    std::vector<std::string> envStore;
    std::vector<char*> envp;
    std::string logPath;
};

// In the child, between fork() and exec: async-signal-safe calls only.
[[noreturn]] void execService(const ServiceCommand& command, pid_t parent) {
    // A service that outlives a crashed worker would keep running forever.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
        ::_exit(127);
    // Raw fds on purpose: between fork() and exec only async-signal-safe
    // calls; O_CLOEXEC closes these at exec, once dup2() has copied them.
    int fd = ::open(command.logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
    }
    if (devnull >= 0)
        ::dup2(devnull, 0);
    if (::chdir("/") != 0)
        ::_exit(127);
    ::execvpe(command.argv[0], command.argv.data(), command.envp.data());
    ::_exit(127);
}

// Starts the service; returns its pid. Throws std::system_error.
pid_t spawnService(const ServiceCommand& command) {
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0)
        execService(command, parent);
    return pid;
}

// Waits, bounded, until the service at `sock` answers _ping. Resets `child`
// when the service exits. Throws base::Failure: kServiceExited, kTimeout.
void waitUntilAnswering(std::optional<pid_t>& child, const std::filesystem::path& sock,
                        const std::filesystem::path& logFile,
                        std::chrono::milliseconds startTimeout) {
    using namespace std::chrono_literals;
    PodmanClient client(sock);
    auto deadline = std::chrono::steady_clock::now() + startTimeout;
    auto delay = 10ms;
    while (true) {
        if (std::filesystem::exists(sock) && client.ping(1s))
            return;
        int status = 0;
        if (::waitpid(*child, &status, WNOHANG) == *child) {
            child.reset();
            throw base::Failure(base::PodmanErrc::kServiceExited,
                                "podman system service exited: " + tailOf(logFile, 400));
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw base::Failure(base::PodmanErrc::kTimeout,
                                "podman system service did not answer within " +
                                    std::to_string(startTimeout.count()) +
                                    " ms: " + tailOf(logFile, 400));
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(200));
    }
}

} // namespace

std::unique_ptr<PodmanService> PodmanService::connect(const ServiceOptions& options,
                                                      const wire::EnvLookup& env) {
    if (!options.privateOnly) {
        if (auto found = firstAnswering(candidateSockets(env))) {
            kLog.info("using Podman at {} ({})", found->socket.string(), found->origin);
            return std::unique_ptr<PodmanService>(new PodmanService(found->socket, found->origin));
        }
    }

    // Start our own service on a private socket.
    const std::filesystem::path dir = makePrivateDir(env);
    const std::filesystem::path logFile = dir / "service.log";
    std::unique_ptr<PodmanService> svc(new PodmanService(dir / "podman.sock", "private service"));
    svc->privateDir_ = dir;
    const ServiceCommand command(options, svc->socket_, logFile);
    svc->child_ = spawnService(command);
    kLog.info("started podman system service (pid {}) on {}", *svc->child_, svc->socket_.string());
    waitUntilAnswering(svc->child_, svc->socket_, logFile, options.startTimeout);
    return svc;
}

PodmanService::~PodmanService() {
    stop();
}

void PodmanService::stop() noexcept {
    using namespace std::chrono_literals;
    if (child_) {
        pid_t pid = *child_;
        ::kill(pid, SIGTERM);
        bool gone = false;
        for (int i = 0; i < 100 && !gone; ++i) { // up to ~5 s
            int status = 0;
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD))
                gone = true;
            else
                std::this_thread::sleep_for(50ms);
        }
        if (!gone) {
            ::kill(pid, SIGKILL);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
        child_.reset();
    }
    if (!privateDir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(privateDir_, ec);
    }
}

} // namespace swarm::sandbox

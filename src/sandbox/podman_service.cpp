#include "sandbox/podman_service.hpp"

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

std::unique_ptr<PodmanService> PodmanService::connect(const ServiceOptions& options,
                                                      const wire::EnvLookup& env) {
    using namespace std::chrono_literals;
    if (!options.privateOnly) {
        std::vector<std::pair<std::filesystem::path, std::string>> candidates;
        if (auto host = env("CONTAINER_HOST")) {
            if (!host->starts_with("unix://"))
                throw std::runtime_error("CONTAINER_HOST must be a unix:// address, got '" + *host +
                                         "'");
            candidates.emplace_back(host->substr(7), "CONTAINER_HOST");
        } else if (::geteuid() != 0) {
            if (auto rt = env("XDG_RUNTIME_DIR"))
                candidates.emplace_back(std::filesystem::path(*rt) / "podman/podman.sock",
                                        "user socket");
        } else {
            candidates.emplace_back("/run/podman/podman.sock", "system socket");
        }
        for (auto& [path, origin] : candidates) {
            if (std::filesystem::exists(path) && PodmanClient(path).ping(2s)) {
                kLog.info("using Podman at {} ({})", path.string(), origin);
                return std::unique_ptr<PodmanService>(new PodmanService(path, origin));
            }
        }
    }

    // Start our own service on a private socket.
    std::filesystem::path base = env("XDG_RUNTIME_DIR").value_or("/tmp");
    if (!std::filesystem::is_directory(base))
        base = "/tmp";
    std::string templ = (base / "swarm-podman-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    std::filesystem::path dir = templ;
    std::filesystem::path sock = dir / "podman.sock";
    std::filesystem::path logFile = dir / "service.log";
    std::unique_ptr<PodmanService> svc(new PodmanService(sock, "private service"));
    svc->privateDir_ = dir;

    // Everything the child needs is prepared before fork(): after it, only
    // async-signal-safe calls.
    std::string address = "unix://" + sock.string();
    std::vector<std::string> args{options.podmanBinary, "system", "service", "--time=0", address};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> envStore;
    for (char** e = environ; e && *e; ++e) {
        if (std::strncmp(*e, "CONTAINERS_CONF=", 16) != 0)
            envStore.emplace_back(*e);
    }
    if (options.containersConf)
        envStore.push_back("CONTAINERS_CONF=" + options.containersConf->string());
    std::vector<char*> envp;
    for (auto& e : envStore)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string logPath = logFile.string();
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0)
        throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        // A service that outlives a crashed worker would keep running forever.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent)
            ::_exit(127);
        // Raw fds on purpose: between fork() and exec only async-signal-safe
        // calls; O_CLOEXEC closes these at exec, once dup2() has copied them.
        int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (devnull >= 0)
            ::dup2(devnull, 0);
        if (::chdir("/") != 0)
            ::_exit(127);
        ::execvpe(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    svc->child_ = pid;
    kLog.info("started podman system service (pid {}) on {}", pid, sock.string());

    PodmanClient client(sock);
    auto deadline = std::chrono::steady_clock::now() + options.startTimeout;
    auto delay = 10ms;
    while (true) {
        if (std::filesystem::exists(sock) && client.ping(1s))
            return svc;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            svc->child_.reset();
            throw std::runtime_error("podman system service exited: " + tailOf(logFile, 400));
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("podman system service did not answer within " +
                                     std::to_string(options.startTimeout.count()) +
                                     " ms: " + tailOf(logFile, 400));
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(200));
    }
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

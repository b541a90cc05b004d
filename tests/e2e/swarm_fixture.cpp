#include "swarm_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace swarm::e2e {

namespace {

// The environment of a worker run as plain `user`: its home, a runtime
// directory of its own (0700) for its rootless Podman, and no
// CONTAINER_HOST (it starts its own service, as a volunteer's would).
std::map<std::string, std::string> userEnv(std::map<std::string, std::string> env,
                                           const std::string& user) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr)
        throw std::runtime_error("no user " + user + " (scripts/setup-podman creates swarmtest)");
    auto runtime = "/tmp/swarm-e2e-runtime-" + std::to_string(pw->pw_uid);
    ::mkdir(runtime.c_str(), 0700);
    if (::chown(runtime.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot give " + runtime + " to " + user);
    env["CONTAINER_HOST"] = ""; // removed
    env["HOME"] = pw->pw_dir;
    env["USER"] = user;
    env["LOGNAME"] = user;
    env["XDG_RUNTIME_DIR"] = runtime;
    return env;
}

// `program args` as `user` (setpriv execs: the pid is the program's).
std::pair<std::string, std::vector<std::string>>
asUser(const std::string& user, const std::string& program, std::vector<std::string> args) {
    if (user.empty())
        return {program, std::move(args)};
    args.insert(args.begin(), {"--reuid", user, "--regid", user, "--init-groups", "--", program});
    return {"/usr/bin/setpriv", std::move(args)};
}

using namespace std::chrono_literals;

std::filesystem::path buildRoot() {
    const char* b = std::getenv("SWARM_BUILD_ROOT");
    if (b == nullptr)
        throw std::runtime_error("SWARM_BUILD_ROOT is not set (run through meson test)");
    return b;
}

std::filesystem::path sourceRoot() {
    const char* s = std::getenv("SWARM_SOURCE_ROOT");
    if (s == nullptr)
        throw std::runtime_error("SWARM_SOURCE_ROOT is not set (run through meson test)");
    return s;
}

bool unixSocketAnswers(const std::filesystem::path& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::uint16_t freeUdpPort() {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}
} // namespace

std::unique_ptr<Child> Swarm::spawnIn(const std::string& netns, const std::string& program,
                                      std::vector<std::string> args,
                                      const std::filesystem::path& out,
                                      const std::filesystem::path& err,
                                      const std::map<std::string, std::string>& env) const {
    if (netns.empty())
        return std::make_unique<Child>(program, args, test::logFiles(out, err, env));
    // ip netns exec execs the program (no fork): the child's pid is the peer's.
    args.insert(args.begin(), {"netns", "exec", netns, program});
    return std::make_unique<Child>("/usr/bin/ip", args, test::logFiles(out, err, env));
}

std::string Swarm::bootstrap() const {
    return options_.bootstrapHost + ":" + std::to_string(dhtPort_);
}

Swarm::Swarm(SwarmOptions options) : options_(std::move(options)) {
    // SWARM_E2E_KEEP=1 keeps the logs and homes for a post-mortem.
    if (const char* keep = std::getenv("SWARM_E2E_KEEP"); keep != nullptr && *keep != '\0')
        root_.keep();
    auto build = buildRoot();
    workerBinary = (build / "src/swarm-worker").string();
    submitBinary = (build / "src/swarm-submit").string();
    corruptBinary = (build / "tests/e2e/swarm-worker-corrupt").string();
    auto conf = sourceRoot() / "packaging/containers.conf";

    // One Podman service for all workers, as on a real machine.
    auto sock = root() / "podman.sock";
    podman_ = std::make_unique<Child>(
        "/usr/bin/podman",
        std::vector<std::string>{"system", "service", "--time=0", "unix://" + sock.string()},
        test::logFiles(root() / "podman.out", root() / "podman.err",
                       {{"CONTAINERS_CONF", conf.string()}}));
    if (!waitFor([&] { return unixSocketAnswers(sock); }, 30s))
        throw std::runtime_error("podman system service did not start: " +
                                 readFile(root() / "podman.err"));
    env_ = {{"CONTAINER_HOST", "unix://" + sock.string()},
            {"CONTAINERS_CONF", conf.string()},
            {"SWARM_LOG", "info"}};

    // A stock OpenDHT node is the only bootstrap.
    dhtPort_ = options_.bootstrapPort != 0 ? options_.bootstrapPort : freeUdpPort();
    dhtnode_ =
        spawnIn(options_.bootstrapNetns, "/usr/bin/dhtnode", {"-s", "-p", std::to_string(dhtPort_)},
                root() / "dhtnode.out", root() / "dhtnode.err", {});

    submitterHome_ = root() / "submitter";
    auto init = e2e::runProgram(submitBinary, {"--home", submitterHome_.string(), "init"}, 10s);
    if (init.status != 0)
        throw std::runtime_error("swarm-submit init failed: " + init.err);
    submitterId_ = trim(init.out);
}

Swarm::~Swarm() {
    for (auto& [name, w] : workers_) {
        if (w.process && w.process->running()) {
            w.process->signal(SIGTERM);
            w.process->wait(20s);
        }
        w.process.reset();
    }
    dhtnode_.reset();
    podman_->signal(SIGTERM);
    podman_->wait(10s);
    podman_.reset();
}

std::string Swarm::addSubmitter(const std::string& name) {
    auto home = root() / ("submitter-" + name);
    auto init = e2e::runProgram(submitBinary, {"--home", home.string(), "init"}, 10s);
    if (init.status != 0)
        throw std::runtime_error("swarm-submit init failed: " + init.err);
    auto id = trim(init.out);
    submitters_[name] = {home, id};
    return id;
}

std::string Swarm::submitterIdOf(const std::string& name) const {
    return submitters_.at(name).second;
}

std::string Swarm::createWorker(const std::string& name, WorkerOptions options) {
    auto it = workers_.find(name);
    if (it == workers_.end()) {
        Worker w;
        w.home = root() / name;
        w.options = options;
        auto init = e2e::runProgram(workerBinary, {"--home", w.home.string(), "init"}, 10s);
        if (init.status != 0)
            throw std::runtime_error("worker init failed: " + init.err);
        w.id = trim(init.out);
        if (options.trustsSubmitter)
            e2e::runProgram(workerBinary, {"--home", w.home.string(), "trust", "add", submitterId_},
                            10s);
        if (options.trustedBySubmitter)
            e2e::runProgram(submitBinary, {"--home", submitterHome_.string(), "trust", "add", w.id},
                            10s);
        for (const auto& other : options.submitters) {
            const auto& [home, id] = submitters_.at(other);
            e2e::runProgram(workerBinary, {"--home", w.home.string(), "trust", "add", id}, 10s);
            e2e::runProgram(submitBinary, {"--home", home.string(), "trust", "add", w.id}, 10s);
        }
        for (const auto& id : options.trusts)
            e2e::runProgram(workerBinary, {"--home", w.home.string(), "trust", "add", id}, 10s);
        if (!options.config.empty())
            std::ofstream(w.home / "worker.toml") << options.config;
        if (!options.user.empty()) {
            // The plain user owns its home and may pass through ours.
            std::filesystem::permissions(root(), std::filesystem::perms::others_exec,
                                         std::filesystem::perm_options::add);
            auto chown = e2e::runProgram(
                "/bin/chown", {"-R", options.user + ":" + options.user, w.home.string()}, 10s);
            if (chown.status != 0)
                throw std::runtime_error("chown of the worker's home failed: " + chown.err);
        }
        it = workers_.emplace(name, std::move(w)).first;
    }
    return it->second.id;
}

std::string Swarm::startWorker(const std::string& name, WorkerOptions options) {
    createWorker(name, std::move(options));
    auto it = workers_.find(name);
    auto& w = it->second;
    std::filesystem::remove(w.home / "worker.sock");
    // On loopback every DHT node of the swarm binds 127.0.0.1
    // (docs/discovery.md).
    std::vector<std::string> args{"--home", w.home.string(), "run"};
    if (!w.options.placement.dhtAddress.empty())
        args.insert(args.end(), {"--dht-address", w.options.placement.dhtAddress});
    args.insert(args.end(),
                {"--bootstrap", bootstrap(), "--slots", std::to_string(w.options.slots)});
    args.insert(args.end(), w.options.args.begin(), w.options.args.end());
    auto [program, all] =
        asUser(w.options.user, w.options.corrupt ? corruptBinary : workerBinary, std::move(args));
    w.process = spawnIn(w.options.placement.netns, program, all, w.home.string() + ".out",
                        w.home.string() + ".log",
                        w.options.user.empty() ? env_ : userEnv(env_, w.options.user));
    if (!waitFor([&] { return unixSocketAnswers(w.home / "worker.sock"); }, 90s))
        throw std::runtime_error("worker " + name +
                                 " did not start: " + readFile(w.home.string() + ".log"));
    return w.id;
}

void Swarm::killWorker(const std::string& name) {
    auto& w = workers_.at(name);
    w.process->signal(SIGKILL);
    w.process->wait(10s);
}

int Swarm::stopWorker(const std::string& name) {
    auto& w = workers_.at(name);
    w.process->signal(SIGTERM);
    return w.process->wait(60s).value_or(-1);
}

std::string Swarm::workerId(const std::string& name) const {
    return workers_.at(name).id;
}

std::vector<std::string> Swarm::workerNames() const {
    std::vector<std::string> names;
    for (const auto& [name, w] : workers_)
        names.push_back(name);
    return names;
}

std::filesystem::path Swarm::workerLog(const std::string& name) const {
    return workers_.at(name).home.string() + ".log";
}

std::string Swarm::listWorkers() {
    std::vector<std::string> args{"--home",      submitterHome_.string(),
                                  "workers",     "--json",
                                  "--bootstrap", bootstrap(),
                                  "--timeout",   "10"};
    if (!options_.submitter.dhtAddress.empty())
        args.insert(args.end(), {"--bind", options_.submitter.dhtAddress});
    std::string program = submitBinary;
    if (!options_.submitter.netns.empty()) {
        args.insert(args.begin(), {"netns", "exec", options_.submitter.netns, submitBinary});
        program = "/usr/bin/ip";
    }
    return e2e::runProgram(program, args, 30s).out;
}

RunResult Swarm::runWorkerCommand(const std::string& name, const std::vector<std::string>& args,
                                  std::chrono::seconds timeout) {
    const auto& w = workers_.at(name);
    std::vector<std::string> all{"--home", w.home.string()};
    all.insert(all.end(), args.begin(), args.end());
    auto [program, argv] = asUser(w.options.user, workerBinary, std::move(all));
    return e2e::runProgram(program, argv, timeout,
                           w.options.user.empty() ? env_ : userEnv(env_, w.options.user));
}

std::string Swarm::workerStatus(const std::string& name) {
    return e2e::runProgram(workerBinary,
                           {"--home", workers_.at(name).home.string(), "--json", "status"}, 10s)
        .out;
}

std::unique_ptr<Child> Swarm::startSubmit(std::vector<std::string> args,
                                          const std::filesystem::path& events,
                                          const std::string& submitter) {
    return startSubmitAt(options_.submitter, options_.submitterListen, std::move(args), events,
                         submitter);
}

std::unique_ptr<Child> Swarm::startSubmitAt(const Placement& at, const std::string& listen,
                                            std::vector<std::string> args,
                                            const std::filesystem::path& events,
                                            const std::string& submitter) {
    const auto home = submitter.empty() ? submitterHome_ : submitters_.at(submitter).first;
    // The network flags go right after the command word, before any "--".
    std::vector<std::string> full{"--home",   home.string(), "--json",      args.at(0),
                                  "--listen", listen,        "--bootstrap", bootstrap()};
    if (!at.dhtAddress.empty())
        full.insert(full.end(), {"--dht-address", at.dhtAddress});
    full.insert(full.end(), args.begin() + 1, args.end());
    return spawnIn(at.netns, submitBinary, full, events, events.string() + ".log", env_);
}

std::unique_ptr<Child> Swarm::startSubmitPlain(std::vector<std::string> args,
                                               const std::filesystem::path& out,
                                               const std::string& submitter) {
    const auto home = submitter.empty() ? submitterHome_ : submitters_.at(submitter).first;
    args.insert(args.begin(), {"--home", home.string()});
    return spawnIn(options_.submitter.netns, submitBinary, args, out, out.string() + ".log", env_);
}

void Swarm::submitterTrusts(const std::string& id, const std::string& submitter) {
    const auto home = submitter.empty() ? submitterHome_ : submitters_.at(submitter).first;
    auto r = e2e::runProgram(submitBinary, {"--home", home.string(), "trust", "add", id}, 10s);
    if (r.status != 0)
        throw std::runtime_error("swarm-submit trust add failed: " + r.err);
}

std::filesystem::path Swarm::workerHome(const std::string& name) const {
    return workers_.at(name).home;
}

std::filesystem::path Swarm::submitterHomeOf(const std::string& name) const {
    return submitters_.at(name).first;
}

std::size_t Swarm::containersOf(const std::string& workerId) {
    auto r = e2e::runProgram("/usr/bin/podman",
                             {"--url", env_.at("CONTAINER_HOST"), "ps", "-a", "-q", "--filter",
                              "label=swarm.worker=" + workerId},
                             30s);
    std::size_t n = 0;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        n += !line.empty();
    return n;
}

void Swarm::removeContainersOf(const std::string& workerId) {
    auto r = e2e::runProgram("/usr/bin/podman",
                             {"--url", env_.at("CONTAINER_HOST"), "ps", "-a", "-q", "--filter",
                              "label=swarm.worker=" + workerId},
                             30s);
    std::istringstream in(r.out);
    for (std::string id; std::getline(in, id);)
        if (!id.empty())
            e2e::runProgram("/usr/bin/podman",
                            {"--url", env_.at("CONTAINER_HOST"), "rm", "-f", "-t", "0", id}, 30s);
}

std::vector<std::string> eventsOf(const std::filesystem::path& file, const std::string& event) {
    std::vector<std::string> out;
    std::istringstream in(readFile(file));
    const std::string tag = "\"event\":\"" + event + "\"";
    for (std::string line; std::getline(in, line);)
        if (line.find(tag) != std::string::npos)
            out.push_back(line);
    return out;
}

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done())
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

std::string field(const std::string& line, const std::string& key) {
    const std::string tag = "\"" + key + "\":\"";
    auto pos = line.find(tag);
    if (pos == std::string::npos)
        return {};
    pos += tag.size();
    return line.substr(pos, line.find('"', pos) - pos);
}

long long numberField(const std::string& line, const std::string& key) {
    const std::string tag = "\"" + key + "\":";
    auto pos = line.find(tag);
    if (pos == std::string::npos)
        throw std::runtime_error("no number \"" + key + "\" in " + line);
    return std::stoll(line.substr(pos + tag.size()));
}

std::string waitForGiveBack(const std::filesystem::path& events,
                            std::chrono::milliseconds timeout) {
    std::string back;
    waitFor(
        [&] {
            for (const auto& e : eventsOf(events, "replica-ended"))
                if (field(e, "state") == "given-back")
                    back = e;
            return !back.empty();
        },
        timeout);
    return back;
}

} // namespace swarm::e2e

#include "bench/dispatch_bench.hpp"

#include "cli/options.hpp"
#include "cli/signal_watcher.hpp"
#include "dht/node.hpp"
#include "sandbox/container_spec.hpp"
#include "sandbox/doctor.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_json.hpp"
#include "sandbox/podman_runtime.hpp"
#include "sandbox/tar_writer.hpp"
#include "sandbox/volume_files.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "wire/bytes.hpp"
#include "worker/admission.hpp"
#include "worker/control_server.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/worker_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <json/json.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace swarm::bench {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

constexpr const char* kImage = "localhost/swarm-test:latest";

struct Options {
    std::uint64_t units = 200;
    std::uint64_t workers = 2;
    std::uint64_t slots = 2;
    Ms idle{5000};
    std::uint64_t steps = 5; ///< containers for the one-at-a-time step timing
    bool quick = false;
    bool keep = false; ///< leave the temporary directory (logs, events)
    std::string csv;
};

// Set from the signal watcher: every wait below gives up when it is set,
// and the destructors stop what was started.
std::atomic<bool> gInterrupted{false};

void checkInterrupted() {
    if (gInterrupted)
        throw std::runtime_error("interrupted");
}

// Sleeps up to `d`, in short steps, giving up early when interrupted.
void nap(Ms d) {
    auto until = Clock::now() + d;
    while (Clock::now() < until) {
        checkInterrupted();
        std::this_thread::sleep_for(std::min<Clock::duration>(50ms, until - Clock::now()));
    }
}

template <typename Pred> bool waitFor(Pred pred, Ms timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred())
            return true;
        nap(50ms);
    }
    return pred();
}

std::int64_t epochMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string tail(const std::string& s, std::size_t n = 600) {
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
        s.pop_back();
    return s;
}

std::optional<fs::path> inPath(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
        auto p = fs::path(d.empty() ? "." : d) / name;
        if (::access(p.c_str(), X_OK) == 0)
            return p;
    }
    return std::nullopt;
}

// The swarm programs of the build this binary belongs to: <build>/bench/
// swarm-bench -> <build>/src/; else $SWARM_BUILD_ROOT/src.
fs::path programDir() {
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> candidates;
    if (!ec)
        candidates.push_back(self.parent_path().parent_path() / "src");
    if (const char* b = std::getenv("SWARM_BUILD_ROOT"))
        candidates.push_back(fs::path(b) / "src");
    for (const auto& c : candidates)
        if (::access((c / "swarm-worker").c_str(), X_OK) == 0 &&
            ::access((c / "swarm-submit").c_str(), X_OK) == 0)
            return c;
    throw std::runtime_error("swarm-worker and swarm-submit not found next to this build "
                             "(build them: ninja -C BUILD src/swarm-worker src/swarm-submit, or "
                             "set SWARM_BUILD_ROOT)");
}

bool unixSocketAnswers(const fs::path& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

using Child = test::ChildProcess;
using test::readFile;

// Runs a program to completion (bounded); its output. Throws when it fails.
test::RunResult runTool(const fs::path& program, const std::vector<std::string>& args, Ms timeout) {
    auto r = test::runProgram(program.string(), args, timeout);
    if (r.status != 0)
        throw std::runtime_error(
            fmt::format("{} {} failed (status {}): {}", program.filename().string(),
                        args.size() > 2 ? args[2] : "", r.status, tail(trim(r.err))));
    return r;
}

// --- statistics -------------------------------------------------------------

struct Stats {
    std::size_t n = 0;
    double p50 = 0, p90 = 0, mean = 0, max = 0;
};

Stats stats(std::vector<double> v) {
    Stats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {
        auto i = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
        return v[std::clamp<std::size_t>(i, 1, v.size()) - 1];
    };
    s.n = v.size();
    s.p50 = rank(0.5);
    s.p90 = rank(0.9);
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    s.max = v.back();
    return s;
}

// --- idle sampling ----------------------------------------------------------

struct ProcSample {
    double rssMiB = 0;
    double pssMiB = 0;            // shared pages divided among their users
    std::uint64_t cpuTicks = 0;   // utime + stime
    std::uint64_t childTicks = 0; // cutime + cstime: children it has reaped
    bool ok = false;
};

ProcSample sampleProc(pid_t pid) {
    ProcSample s;
    std::istringstream status(readFile(fmt::format("/proc/{}/status", pid)));
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("VmRSS:")) {
            s.rssMiB = std::stod(line.substr(6)) / 1024.0; // kB
            s.ok = true;
        }
    }
    std::istringstream rollup(readFile(fmt::format("/proc/{}/smaps_rollup", pid)));
    for (std::string line; std::getline(rollup, line);)
        if (line.starts_with("Pss:"))
            s.pssMiB = std::stod(line.substr(4)) / 1024.0; // kB
    auto stat = readFile(fmt::format("/proc/{}/stat", pid));
    auto paren = stat.rfind(')');
    if (paren == std::string::npos)
        return ProcSample{};
    // After "pid (comm)": state is field 3; utime, stime, cutime, cstime
    // are fields 14 to 17.
    std::istringstream rest(stat.substr(paren + 2));
    std::vector<std::string> f;
    for (std::string w; rest >> w && f.size() < 15;)
        f.push_back(w);
    if (f.size() < 15)
        return ProcSample{};
    s.cpuTicks = std::stoull(f[11]) + std::stoull(f[12]);
    s.childTicks = std::stoull(f[13]) + std::stoull(f[14]);
    return s;
}

// CPU milliseconds `pid` and the children it reaped have used so far.
double cpuMs(pid_t pid) {
    auto p = sampleProc(pid);
    return static_cast<double>(p.cpuTicks + p.childTicks) * 1000.0 /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double selfCpuMs() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto ms = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
    };
    return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// Children of `pid` (direct only), from /proc/*/stat.
std::size_t childCount(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        auto stat = readFile(e.path() / "stat");
        auto paren = stat.rfind(')');
        if (paren == std::string::npos)
            continue;
        std::istringstream rest(stat.substr(paren + 2));
        std::string state, ppid;
        rest >> state >> ppid;
        n += ppid == std::to_string(pid);
    }
    return n;
}

struct IdleResult {
    double seconds = 0;
    std::vector<double> rssMiB;     // per worker, the largest sample
    std::vector<double> pssMiB;     // per worker, the largest sample
    std::vector<double> cpuPercent; // per worker, of one core
    std::size_t children = 0;       // child processes of all workers
    double podmanRssMiB = 0;        // the shared service, for context
};

IdleResult sampleIdle(const std::vector<pid_t>& workers, pid_t podman, Ms window) {
    IdleResult r;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::vector<ProcSample> first;
    for (auto pid : workers)
        first.push_back(sampleProc(pid));
    r.rssMiB.assign(workers.size(), 0);
    r.pssMiB.assign(workers.size(), 0);
    auto start = Clock::now();
    while (Clock::now() - start < window) {
        nap(std::min<Ms>(250ms, window));
        for (std::size_t i = 0; i < workers.size(); ++i) {
            auto p = sampleProc(workers[i]);
            r.rssMiB[i] = std::max(r.rssMiB[i], p.rssMiB);
            r.pssMiB[i] = std::max(r.pssMiB[i], p.pssMiB);
        }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (std::size_t i = 0; i < workers.size(); ++i) {
        auto last = sampleProc(workers[i]);
        if (!first[i].ok || !last.ok)
            throw std::runtime_error("a worker exited while idle");
        r.cpuPercent.push_back(static_cast<double>(last.cpuTicks - first[i].cpuTicks) / tick /
                               r.seconds * 100.0);
        r.children += childCount(workers[i]);
    }
    r.podmanRssMiB = sampleProc(podman).rssMiB;
    return r;
}

// --- the floor: the same containers straight through Podman's REST API ------

struct FloorResult {
    double seconds = 0;
    std::vector<double> createMs, startMs, waitMs, removeMs, totalMs;
};

sandbox::PodmanClient::Request request(std::string_view method, std::string path,
                                       std::string_view body = {}, Ms timeout = 60s) {
    sandbox::PodmanClient::Request r;
    r.method = method;
    r.path = std::move(path);
    r.body = body;
    r.timeout = timeout;
    return r;
}

void expectStatus(const sandbox::HttpResponse& r, std::initializer_list<long> ok,
                  const std::string& what) {
    if (std::find(ok.begin(), ok.end(), r.status) == ok.end())
        throw std::runtime_error(
            fmt::format("floor: podman {}: HTTP {} {}", what, r.status, tail(r.body, 300)));
}

Json::Value parseJson(const std::string& text) {
    Json::CharReaderBuilder builder;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value v;
    std::string errs;
    if (!reader->parse(text.data(), text.data() + text.size(), &v, &errs))
        throw std::runtime_error("podman answered with something that is not JSON: " + errs);
    return v;
}

double msBetween(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// U containers, `concurrency` at a time, each: volume + container created
// with the sandbox's own create body, started, waited for (10 ms polling),
// container and volume removed. No input or output copies, no log stream,
// no inspect: the least any sandbox has to do to run the same container.
FloorResult runFloor(const fs::path& socket, const sandbox::HostProfile& host,
                     const sandbox::Limits& limits, std::size_t units, std::size_t concurrency,
                     const std::string& floorId) {
    FloorResult r;
    std::mutex m;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    const std::string suffix = fmt::format("{}", ::getpid());
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < concurrency; ++t) {
        threads.emplace_back([&] {
            try {
                sandbox::PodmanClient c(socket);
                for (;;) {
                    auto i = next++;
                    if (i >= units || failed || gInterrupted)
                        return;
                    sandbox::UnitSpec spec;
                    spec.unitId = fmt::format("floor-u-{:04}", i);
                    spec.workerId = floorId;
                    spec.image = kImage;
                    spec.command = {"echo", fmt::format("in/u-{:04}.txt", i)};
                    spec.limits = limits;
                    auto names = sandbox::containerNames(spec.unitId, suffix);
                    auto volBody = sandbox::buildVolumeBody(spec, names);
                    auto body = sandbox::buildCreateBody(spec, host, names);
                    auto t0 = Clock::now();
                    expectStatus(c.call(request("POST", "/volumes/create", volBody)), {200, 201},
                                 "volume create");
                    expectStatus(c.call(request("POST", "/containers/create", body)), {201},
                                 "create");
                    auto t1 = Clock::now();
                    expectStatus(
                        c.call(request("POST", "/containers/" + names.container + "/start")), {204},
                        "start");
                    auto t2 = Clock::now();
                    auto wr = c.call(request("POST",
                                             "/containers/" + names.container +
                                                 "/wait?condition=exited&interval=10ms",
                                             {}, limits.timeout + 30s));
                    expectStatus(wr, {200}, "wait");
                    if (trim(wr.body) != "0")
                        throw std::runtime_error("floor: container exited with " + wr.body);
                    auto t3 = Clock::now();
                    // Removal sometimes fails once right after exit ("device or
                    // resource busy", or a 404 while conmon's cleanup runs); the
                    // sandbox retries and accepts 404 too.
                    for (int attempt = 0;; ++attempt) {
                        auto dr = c.call(request("DELETE", "/containers/" + names.container +
                                                               "?force=true&v=true&t=0"));
                        if (dr.status == 200 || dr.status == 204 || dr.status == 404)
                            break;
                        if (attempt == 3)
                            expectStatus(dr, {200, 204}, "remove");
                        std::this_thread::sleep_for(Ms(50 << attempt));
                    }
                    expectStatus(
                        c.call(request("DELETE", "/volumes/" + names.volume + "?force=true")),
                        {204}, "volume remove");
                    auto t4 = Clock::now();
                    std::lock_guard lock(m);
                    r.createMs.push_back(msBetween(t0, t1));
                    r.startMs.push_back(msBetween(t1, t2));
                    r.waitMs.push_back(msBetween(t2, t3));
                    r.removeMs.push_back(msBetween(t3, t4));
                    r.totalMs.push_back(msBetween(t0, t4));
                }
            } catch (...) {
                std::lock_guard lock(m);
                if (!error)
                    error = std::current_exception();
                failed = true;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (error)
        std::rethrow_exception(error);
    checkInterrupted();
    return r;
}

// --- what each Podman request of a sandbox run costs, one at a time ----------

// The sandbox's requests for one unit, in its order, timed one container at
// a time on an otherwise idle service: where PodmanRuntime::run() spends
// what the floor does not. The copies go the way the sandbox's go here:
// straight through the volume's host directory when this process is root
// (HostProfile::directVolumeCopies), else through the archive endpoints.
struct StepTimes {
    std::vector<std::string> names;
    std::map<std::string, std::vector<double>> ms;
};

// Times the sandbox's requests for one container after another (see
// probeSteps()), each request a named step.
class StepProbe {
public:
    StepProbe(const fs::path& socket, const sandbox::HostProfile& host,
              const sandbox::Limits& limits, const fs::path& scratch)
        : socket_(socket), host_(host), limits_(limits), scratch_(scratch), c_(socket) {}

    // The sandbox's requests for unit `i`, in its order.
    void run(std::size_t i, const std::string& workerId) {
        Unit u;
        u.index = i;
        u.name = fmt::format("u-{:04}.txt", i);
        u.content = fmt::format("unit {}\n", i);
        sandbox::UnitSpec spec;
        spec.unitId = fmt::format("steps-u-{:04}", i);
        spec.workerId = workerId;
        spec.image = kImage;
        spec.command = {"echo", "in/" + u.name};
        spec.limits = limits_;
        u.names = sandbox::containerNames(spec.unitId, suffix_);
        auto volBody = sandbox::buildVolumeBody(spec, u.names);
        auto body = sandbox::buildCreateBody(spec, host_, u.names);
        sandbox::TarWriter tar;
        tar.addDirectory("in", 0555);
        tar.addFile("in/" + u.name, wire::asBytes(u.content), 0444);
        tar.addDirectory("out", 0755, {65534, 65534});
        u.archive = tar.finish();
        last_ = Clock::now();
        create(u, volBody, body);
        copyIn(u);
        attachStartWait(u);
        copyOut(u);
        remove(u);
    }

    StepTimes& times() { return r_; }

private:
    struct Unit {
        std::size_t index = 0;
        std::string name, content;
        wire::Bytes archive; // the inputs as the PUT archive takes them
        sandbox::ContainerNames names;
        fs::path volumeDir;
        bool direct = false; // copies straight through the volume's host directory
    };

    void step(const std::string& what) {
        auto now = Clock::now();
        if (!r_.ms.contains(what))
            r_.names.push_back(what);
        r_.ms[what].push_back(msBetween(last_, now));
        last_ = now;
    }

    std::string containerPath(const Unit& u, std::string_view rest) const {
        return "/containers/" + u.names.container + std::string(rest);
    }

    void create(Unit& u, const std::string& volBody, const std::string& body) {
        auto vc = c_.call(request("POST", "/volumes/create", volBody));
        expectStatus(vc, {200, 201}, "volume create");
        u.volumeDir = parseJson(vc.body)["Mountpoint"].asString();
        step("volume create");
        expectStatus(c_.call(request("POST", "/containers/create", body)), {201}, "create");
        step("container create");
        std::error_code ec;
        u.direct =
            host_.directVolumeCopies && ::geteuid() == 0 && fs::is_directory(u.volumeDir, ec);
    }

    void copyIn(const Unit& u) {
        if (u.direct) {
            auto ci = c_.call(request("GET", containerPath(u, "/json")));
            expectStatus(ci, {200}, "container inspect");
            auto maps = parseJson(ci.body)["HostConfig"]["IDMappings"];
            auto ids = sandbox::IdMapping::parse(sandbox::stringList(maps["UidMap"]),
                                                 sandbox::stringList(maps["GidMap"]));
            auto root = ids ? ids->toHost({0, 0}) : std::nullopt;
            auto unit = ids ? ids->toHost({65534, 65534}) : std::nullopt;
            if (!root || !unit)
                throw std::runtime_error("steps: no id mapping in the container's inspect");
            step("container inspect (id mapping)");
            auto src = scratch_ / u.name;
            std::ofstream(src, std::ios::binary) << u.content;
            sandbox::writeInputs(u.volumeDir, {{u.name, src}}, *root, *unit);
            step("inputs in (direct)");
            return;
        }
        const auto& archive = u.archive;
        auto put = request(
            "PUT", containerPath(u, "/archive?path=/work&copyUIDGID=false"),
            std::string_view(reinterpret_cast<const char*>(archive.data()), archive.size()));
        put.contentType = "application/x-tar";
        expectStatus(c_.call(put), {200}, "copy inputs in");
        step("inputs in (PUT archive)");
    }

    void attachStartWait(const Unit& u) {
        // The log stream, attached before start as the sandbox does; Podman
        // initialises the container (runc create) to attach to it.
        std::promise<long> headers;
        auto attached = headers.get_future();
        std::thread attach([&] {
            try {
                sandbox::PodmanClient a(socket_);
                auto ar = request("POST",
                                  containerPath(u, "/attach?stream=true&stdout=true&stderr=true&"
                                                   "logs=false"),
                                  {}, limits_.timeout + 30s);
                bool told = false;
                ar.onHeaders = [&](long status) {
                    if (!told)
                        headers.set_value(status);
                    told = true;
                };
                a.stream(ar, [](std::string_view) { return true; });
                if (!told)
                    headers.set_value(0);
            } catch (...) {
                try {
                    headers.set_value(-1);
                } catch (...) {
                }
            }
        });
        struct Join {
            std::thread& t;
            ~Join() { t.join(); }
        } join{attach};
        if (attached.wait_for(30s) != std::future_status::ready || attached.get() != 200)
            throw std::runtime_error("steps: attach failed");
        step("log stream attached (init)");
        expectStatus(c_.call(request("POST", containerPath(u, "/start"))), {204}, "start");
        step("start");
        auto waited =
            c_.call(request("POST", containerPath(u, "/wait?condition=exited&interval=10ms"), {},
                            limits_.timeout + 30s));
        expectStatus(waited, {200}, "wait");
        step("wait (interval=10ms)");
        if (trim(waited.body) != "0") { // as the sandbox: inspect only after an unclean exit
            expectStatus(c_.call(request("GET", containerPath(u, "/json"))), {200}, "inspect");
            step("inspect");
        }
    }

    void copyOut(const Unit& u) {
        if (u.direct) {
            auto outDir = scratch_ / ("out-" + std::to_string(u.index));
            fs::create_directories(outDir);
            auto files = sandbox::copyOutputs(u.volumeDir, outDir, limits_.maxOutputBytes,
                                              limits_.maxOutputFiles);
            if (!files)
                throw std::runtime_error("steps: copying outputs: " + files.error().what);
            step("outputs out (direct)");
        } else {
            auto out = c_.call(request("GET", containerPath(u, "/archive?path=/work/out")));
            expectStatus(out, {200}, "copy outputs out");
            step("outputs out (GET archive)");
        }
    }

    void remove(const Unit& u) {
        for (int attempt = 0;; ++attempt) {
            auto dr = c_.call(request("DELETE", containerPath(u, "?force=true&v=true&t=0")));
            if (dr.status == 200 || dr.status == 204 || dr.status == 404)
                break;
            if (attempt == 3)
                expectStatus(dr, {200, 204}, "remove");
            std::this_thread::sleep_for(Ms(50 << attempt));
        }
        step("container remove");
        expectStatus(c_.call(request("DELETE", "/volumes/" + u.names.volume + "?force=true")),
                     {204}, "volume remove");
        step("volume remove");
    }

    const fs::path& socket_;
    const sandbox::HostProfile& host_;
    const sandbox::Limits& limits_;
    const fs::path scratch_;
    sandbox::PodmanClient c_;
    const std::string suffix_ = fmt::format("{}", ::getpid());
    StepTimes r_;
    Clock::time_point last_;
};

StepTimes probeSteps(const fs::path& socket, const sandbox::HostProfile& host,
                     const sandbox::Limits& limits, std::size_t count, const std::string& workerId,
                     const fs::path& dir) {
    const fs::path scratch = dir / "steps";
    fs::create_directories(scratch);
    StepProbe probe(socket, host, limits, scratch);
    for (std::size_t i = 0; i < count; ++i) {
        checkInterrupted();
        probe.run(i, workerId);
    }
    return std::move(probe.times());
}

// --- the sandbox alone: the worker's container code, no swarm ----------------

struct SandboxResult {
    double seconds = 0;
    std::vector<double> totalMs, wallMs;
};

// The same units through sandbox::PodmanRuntime::run() (what a worker calls
// per unit: volume, create, inputs copied in, log stream, start, wait,
// inspect, outputs copied out, removal), `concurrency` at a time, in this
// process: the swarm's container cost without discovery, TLS, scheduling or
// the journal.
SandboxResult runSandbox(const fs::path& socket, const sandbox::HostProfile& host,
                         const sandbox::Limits& limits, std::size_t units, std::size_t concurrency,
                         const std::string& workerId, const fs::path& dir) {
    fs::create_directories(dir / "in");
    for (std::size_t i = 0; i < units; ++i)
        std::ofstream(dir / "in" / fmt::format("u-{:04}.txt", i)) << "unit " << i << "\n";
    sandbox::PodmanRuntime runtime(socket, host);
    SandboxResult r;
    std::mutex m;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < concurrency; ++t) {
        threads.emplace_back([&] {
            try {
                for (;;) {
                    auto i = next++;
                    if (i >= units || failed || gInterrupted)
                        return;
                    auto name = fmt::format("u-{:04}.txt", i);
                    sandbox::UnitSpec spec;
                    spec.unitId = fmt::format("sandbox-u-{:04}", i);
                    spec.workerId = workerId;
                    spec.image = kImage;
                    spec.command = {"echo", "in/" + name};
                    spec.inputs.push_back({name, dir / "in" / name});
                    spec.outputDir = dir / "out" / spec.unitId;
                    fs::create_directories(spec.outputDir);
                    spec.limits = limits;
                    auto t0 = Clock::now();
                    auto res = runtime.run(spec);
                    auto t1 = Clock::now();
                    if (!res.ok() || res.stdoutText != "in/" + name + "\n")
                        throw std::runtime_error(
                            fmt::format("sandbox: unit {} failed (exit {}): {} {}", spec.unitId,
                                        res.exitCode, res.error, tail(res.stderrText, 200)));
                    std::lock_guard lock(m);
                    r.totalMs.push_back(msBetween(t0, t1));
                    r.wallMs.push_back(static_cast<double>(res.wallTime.count()));
                }
            } catch (...) {
                std::lock_guard lock(m);
                if (!error)
                    error = std::current_exception();
                failed = true;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (error)
        std::rethrow_exception(error);
    checkInterrupted();
    return r;
}

// --- the swarm ----------------------------------------------------------------

/// A personal swarm on loopback, as users start one: one Podman service for
/// the machine, a bootstrap DHT node, W worker daemons (each its own
/// process and home, DHT on 127.0.0.1) trusting one submitter identity, which
/// trusts them. Everything it started is stopped (by pid) on destruction.
class Rig {
public:
    Rig(const Options& o, const fs::path& programs) : o_(o) {
        if (o.keep)
            dir_.keep();
        workerBin_ = programs / "swarm-worker";
        submitBin_ = programs / "swarm-submit";
        auto podmanBin = inPath("podman");
        if (!podmanBin)
            throw std::runtime_error("podman not found in PATH: install it (scripts/deps) and "
                                     "set it up (scripts/setup-podman)");
        std::optional<fs::path> conf;
        if (const char* c = std::getenv("CONTAINERS_CONF"))
            conf = c;
        else if (const char* src = std::getenv("SWARM_SOURCE_ROOT"))
            conf = fs::path(src) / "packaging/containers.conf";
        else
            conf = worker::findPackagingFile("containers.conf");
        if (!conf || !fs::exists(*conf))
            throw std::runtime_error("the project's containers.conf was not found: set "
                                     "CONTAINERS_CONF=<source>/packaging/containers.conf");

        // One Podman service, shared by the workers and the floor.
        socket_ = dir_.path() / "podman.sock";
        env_ = {{"CONTAINER_HOST", "unix://" + socket_.string()},
                {"CONTAINERS_CONF", fs::absolute(*conf).string()}};
        podman_ = std::make_unique<Child>(
            *podmanBin,
            std::vector<std::string>{"system", "service", "--time=0", "unix://" + socket_.string()},
            test::logFiles(
                dir_.path() / "podman.out", dir_.path() / "podman.log",
                {{"CONTAINERS_CONF", env_.at("CONTAINERS_CONF")}, {"CONTAINER_HOST", ""}}));
        if (!waitFor([&] { return sandbox::PodmanClient(socket_).ping(1s) || !podman_->running(); },
                     30s) ||
            !podman_->running())
            throw std::runtime_error("podman system service did not start: " +
                                     tail(readFile(dir_.path() / "podman.log")));
        sandbox::PodmanClient client(socket_);
        auto img = client.call(
            request("GET", "/images/" + sandbox::PodmanClient::escape(kImage) + "/json", {}, 30s));
        if (img.status == 404)
            throw std::runtime_error(std::string("image ") + kImage +
                                     " not found: build it with scripts/setup-podman");
        if (img.status != 200)
            throw std::runtime_error(fmt::format("podman: image inspect: HTTP {}", img.status));
        info_ = sandbox::queryInfo(client);

        // The bootstrap node, on loopback only.
        dht::NodeConfig nc;
        nc.bindAddress = "127.0.0.1";
        bootstrap_ = std::make_unique<dht::Node>(nc);
        bootstrapAt_ = fmt::format("127.0.0.1:{}", bootstrap_->port());

        // Identities and trust, both ways, with the programs' own commands.
        submitHome_ = dir_.path() / "submitter";
        submitterId_ = trim(runTool(submitBin_, {"--home", submitHome_.string(), "init"}, 20s).out);
        for (std::size_t i = 0; i < o.workers; ++i) {
            Worker w;
            w.name = fmt::format("worker{}", i + 1);
            w.home = dir_.path() / w.name;
            // Every DHT node of a swarm on one machine binds 127.0.0.1, each
            // on its own port (docs/discovery.md: OpenDHT rewrites other
            // loopback addresses in node lists).
            w.address = "127.0.0.1";
            w.id = trim(runTool(workerBin_, {"--home", w.home.string(), "init"}, 20s).out);
            runTool(
                workerBin_,
                {"--home", w.home.string(), "trust", "add", submitterId_, "--name", "submitter"},
                20s);
            runTool(submitBin_,
                    {"--home", submitHome_.string(), "trust", "add", w.id, "--name", w.name}, 20s);
            workers_.push_back(std::move(w));
        }
    }

    ~Rig() {
        // Workers first: they give back, withdraw and remove their
        // containers through the service, which is stopped last.
        for (auto& w : workers_)
            if (w.process)
                w.process->signal(SIGTERM);
        for (auto& w : workers_)
            if (w.process && !w.process->wait(30s))
                std::fprintf(stderr, "dispatch: %s did not stop in 30 s; killing it\n",
                             w.name.c_str());
        for (auto& w : workers_)
            w.process.reset();
        try {
            sandbox::PodmanRuntime runtime(socket_, sandbox::HostProfile{});
            for (const auto& w : workers_)
                runtime.cleanupLeftovers(w.id);
            runtime.cleanupLeftovers(floorId());
            runtime.cleanupLeftovers(sandboxId());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "dispatch: removing leftover containers failed: %s\n", e.what());
        }
        bootstrap_.reset();
        if (podman_) {
            podman_->signal(SIGTERM);
            podman_->wait(15s);
        }
        podman_.reset();
        if (o_.keep)
            std::fprintf(stderr, "dispatch: logs and events kept in %s\n", dir_.path().c_str());
    }
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    /// Starts the worker processes (see waitForWorkers()).
    void startWorkers() {
        for (auto& w : workers_) {
            w.process = std::make_unique<Child>(
                workerBin_,
                std::vector<std::string>{"--home", w.home.string(), "run", "--dht-address",
                                         w.address, "--bootstrap", bootstrapAt_, "--slots",
                                         std::to_string(o_.slots)},
                test::logFiles(dir_.path() / (w.name + ".out"), dir_.path() / (w.name + ".log"),
                               env_));
        }
    }

    /// Waits (bounded) until each worker's control socket answers.
    void waitForWorkers() {
        for (auto& w : workers_) {
            auto sock = worker::controlSocketPath(w.home);
            if (!waitFor([&] { return unixSocketAnswers(sock) || !w.process->running(); }, 120s) ||
                !w.process->running())
                throw std::runtime_error(
                    fmt::format("{} did not start: {}", w.name,
                                tail(readFile(dir_.path() / (w.name + ".log")))));
        }
    }

    std::vector<pid_t> workerPids() const {
        std::vector<pid_t> p;
        for (const auto& w : workers_)
            p.push_back(w.process->pid());
        return p;
    }
    pid_t podmanPid() const { return podman_->pid(); }
    const fs::path& socket() const { return socket_; }
    const fs::path& dir() const { return dir_.path(); }
    const sandbox::PodmanInfo& info() const { return info_; }
    std::string floorId() const { return fmt::format("swarm-bench-floor-{}", ::getpid()); }
    std::string sandboxId() const { return fmt::format("swarm-bench-sandbox-{}", ::getpid()); }

    /// Writes the job (U inputs, `echo {}`, R = 1) and runs `swarm-submit
    /// run` on it to the end; the events file and the epoch ms of its start.
    struct Batch {
        fs::path events;
        std::int64_t startMs = 0;
        double exitSeconds = 0;
        double submitterCpuMs = 0;
        double workersCpuMs = 0; // all workers together, during the batch
    };
    Batch runBatch() {
        auto jobDir = dir_.path() / "job";
        fs::create_directories(jobDir / "inputs");
        for (std::size_t i = 0; i < o_.units; ++i)
            std::ofstream(jobDir / "inputs" / fmt::format("u-{:04}.txt", i))
                << "unit " << i << "\n";
        std::ofstream(jobDir / "job.toml") << "name = \"dispatch\"\n"
                                           << "image = \"" << kImage << "\"\n"
                                           << "command = [\"echo\", \"{}\"]\n"
                                           << "inputs = \"inputs/*.txt\"\n"
                                           << "replicas = 1\nquorum = 1\n"
                                           << "timeout = \"60s\"\n";
        Batch b;
        b.events = dir_.path() / "events.jsonl";
        double workersBefore = 0;
        for (const auto& w : workers_)
            workersBefore += cpuMs(w.process->pid());
        b.startMs = epochMs();
        auto start = Clock::now();
        Child submit(submitBin_,
                     {"--home", submitHome_.string(), "--json", "run",
                      (jobDir / "job.toml").string(), "--out", (jobDir / "out").string(),
                      "--listen", "127.0.0.9:0", "--dht-address", "127.0.0.1", "--bootstrap",
                      bootstrapAt_},
                     test::logFiles(b.events, dir_.path() / "submit.log", env_));
        auto limit = Ms(120'000 + 3'000 * static_cast<std::int64_t>(o_.units));
        std::optional<int> status;
        while (!(status = submit.wait(100ms))) {
            if (gInterrupted) {
                submit.signal(SIGINT);
                submit.wait(10s);
                checkInterrupted();
            }
            if (Clock::now() - start > limit)
                throw std::runtime_error(fmt::format("swarm-submit did not finish within {} s: {}",
                                                     limit.count() / 1000,
                                                     tail(readFile(dir_.path() / "submit.log"))));
        }
        b.exitSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        b.submitterCpuMs = submit.cpuMs();
        for (const auto& w : workers_)
            b.workersCpuMs += cpuMs(w.process->pid());
        b.workersCpuMs -= workersBefore;
        if (*status != 0)
            throw std::runtime_error(fmt::format("swarm-submit run exited with {}: {}", *status,
                                                 tail(readFile(dir_.path() / "submit.log"))));
        return b;
    }

private:
    struct Worker {
        std::string name;
        fs::path home;
        std::string id;
        std::string address;
        std::unique_ptr<Child> process;
    };

    Options o_;
    test::TempDir dir_{"swarm-bench-dispatch"}; // removed after everything below has stopped
    fs::path workerBin_, submitBin_, socket_, submitHome_;
    std::string submitterId_, bootstrapAt_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<Child> podman_;
    sandbox::PodmanInfo info_;
    std::unique_ptr<dht::Node> bootstrap_;
    std::vector<Worker> workers_;
};

// --- what the submitter's events say --------------------------------------------

struct UnitTimes {
    std::int64_t assigned = 0, inputs = 0, result = 0, valid = 0, wall = -1;
    std::string worker;
    int assignments = 0;
};

struct Breakdown {
    std::size_t valid = 0;
    std::size_t reassigned = 0; // units assigned more than once
    std::int64_t jobStarted = 0, firstOffer = 0, firstAssigned = 0, lastValid = 0;
    std::vector<double> offerToConnect; // per worker
    std::vector<double> transfer, container, wall, rest, resultToValid, total;
    std::size_t cachedInputs = 0;
    double slotBusy = 0; // share of W*S slot time with a replica in flight
};

Breakdown analyse(const fs::path& events, std::size_t slotsTotal) {
    Breakdown b;
    std::map<std::string, UnitTimes> units;
    std::map<std::string, std::int64_t> offered, connected;
    Json::CharReaderBuilder builder;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    std::istringstream in(readFile(events));
    for (std::string line; std::getline(in, line);) {
        Json::Value v;
        std::string errs;
        if (!reader->parse(line.data(), line.data() + line.size(), &v, &errs) || !v.isObject())
            continue; // not an event line
        auto ev = v["event"].asString();
        auto t = v["time_ms"].asInt64();
        auto unit = v["unit"].asString();
        auto worker = v["worker"].asString();
        if (ev == "job-started") {
            b.jobStarted = t;
        } else if (ev == "offer-posted") {
            offered.emplace(worker, t);
            if (b.firstOffer == 0)
                b.firstOffer = t;
        } else if (ev == "worker-connected") {
            connected.emplace(worker, t);
        } else if (ev == "replica-assigned") {
            auto& u = units[unit];
            u = UnitTimes{.assigned = t, .worker = worker, .assignments = u.assignments + 1};
            if (b.firstAssigned == 0)
                b.firstAssigned = t;
        } else if (ev == "inputs-sent") {
            units[unit].inputs = t;
        } else if (ev == "result-received") {
            units[unit].result = t;
            units[unit].wall = v["wall_ms"].asInt64();
        } else if (ev == "unit-valid") {
            units[unit].valid = t;
            b.lastValid = std::max(b.lastValid, t);
            ++b.valid;
        }
    }
    for (const auto& [w, t] : connected)
        if (auto o = offered.find(w); o != offered.end())
            b.offerToConnect.push_back(static_cast<double>(t - o->second));
    double busy = 0;
    for (const auto& [id, u] : units) {
        b.reassigned += u.assignments > 1;
        if (u.valid == 0 || u.result == 0)
            continue;
        auto ready = u.inputs ? u.inputs : u.assigned;
        if (u.inputs)
            b.transfer.push_back(static_cast<double>(u.inputs - u.assigned));
        else
            ++b.cachedInputs;
        b.container.push_back(static_cast<double>(u.result - ready));
        if (u.wall >= 0) {
            b.wall.push_back(static_cast<double>(u.wall));
            b.rest.push_back(static_cast<double>(u.result - ready - u.wall));
        }
        b.resultToValid.push_back(static_cast<double>(u.valid - u.result));
        b.total.push_back(static_cast<double>(u.valid - u.assigned));
        busy += static_cast<double>(u.result - u.assigned);
    }
    if (b.lastValid > b.firstAssigned && slotsTotal > 0)
        b.slotBusy = busy / (static_cast<double>(b.lastValid - b.firstAssigned) *
                             static_cast<double>(slotsTotal));
    return b;
}

double loadAverage() {
    std::istringstream in(readFile("/proc/loadavg"));
    double l = 0;
    in >> l;
    return l;
}

std::string statsCell(const Stats& s) {
    if (s.n == 0)
        return fmt::format("{:>7} {:>7} {:>7} {:>5}", "-", "-", "-", 0);
    return fmt::format("{:>7.0f} {:>7.0f} {:>7.0f} {:>5}", s.p50, s.p90, s.mean, s.n);
}

std::string statsJson(const Stats& s) {
    if (s.n == 0)
        return "null";
    return fmt::format("{{\"p50\":{:.1f},\"p90\":{:.1f},\"mean\":{:.1f},\"n\":{}}}", s.p50, s.p90,
                       s.mean, s.n);
}

// The flags of `dispatch`, as given; --quick changes the defaults the
// others override.
struct DispatchFlags {
    bool quick = false;
    std::optional<std::uint64_t> units, workers, slots, steps, idleMs;
    std::string csv;
    bool keep = false;
};

void declareDispatchFlags(CLI::App& app, DispatchFlags& f) {
    app.add_flag("--quick", f.quick, "a small, short run: 6 units, 1 step, 2000 ms idle");
    cli::addNumber(app, "--units", f.units,
                   "tiny units through the swarm, 1 to 10000 "
                   "(default: 200)");
    cli::addNumber(app, "--workers", f.workers, "worker processes, 1 to 100 (default: 2)");
    cli::addNumber(app, "--slots", f.slots, "slots per worker, 1 to 64 (default: 2)");
    cli::addNumber(app, "--idle-ms", f.idleMs,
                   "how long the idle workers' RSS and CPU are measured, 500 to 600000 "
                   "(default: 5000)")
        ->type_name("MS");
    cli::addNumber(app, "--steps", f.steps,
                   "containers for the one-at-a-time step timing, at most 100 (default: 5)");
    app.add_option("--csv", f.csv, "append the figures to this CSV file")->type_name("FILE");
    app.add_flag("--keep", f.keep, "keep the temporary directory (logs, events)");
}

Options optionsFrom(const DispatchFlags& f) {
    Options o;
    o.quick = f.quick;
    if (o.quick) {
        o.units = 6;
        o.idle = 2000ms;
        o.steps = 1;
    }
    o.units = f.units.value_or(o.units);
    o.workers = f.workers.value_or(o.workers);
    o.slots = f.slots.value_or(o.slots);
    o.steps = f.steps.value_or(o.steps);
    if (f.idleMs)
        o.idle = Ms(*f.idleMs);
    o.csv = f.csv;
    o.keep = f.keep;
    return o;
}

void checkOptions(const Options& o) {
    if (o.units == 0 || o.units > 10'000)
        throw cli::UsageError("--units must be from 1 to 10000");
    if (o.workers == 0 || o.workers > 100)
        throw cli::UsageError("--workers must be from 1 to 100");
    if (o.slots == 0 || o.slots > 64)
        throw cli::UsageError("--slots must be from 1 to 64");
    if (o.steps > 100)
        throw cli::UsageError("--steps must be at most 100");
    if (o.idle < 500ms || o.idle > 600'000ms)
        throw cli::UsageError("--idle-ms must be from 500 to 600000");
}

void say(const std::string& line) {
    std::fprintf(stderr, "dispatch: %s\n", line.c_str());
}

// Starts the workers and waits until they answer; meanwhile learns what
// the workers measure too: which protections hold here, so that the floor
// and the sandbox run get the workers' container spec.
sandbox::HostProfile startWorkers(Rig& rig, const Options& o) {
    auto t0 = Clock::now();
    rig.startWorkers();
    sandbox::DoctorOptions doctorOptions;
    doctorOptions.probeImage = kImage;
    doctorOptions.seccompProfile = worker::findPackagingFile("seccomp.json");
    // (--quick takes Podman's own report instead: the probes cost seconds.)
    auto host = sandbox::profileFromInfo(rig.info(), doctorOptions.seccompProfile);
    if (!o.quick) {
        auto doctor = sandbox::runDoctor(rig.socket(), doctorOptions);
        if (doctor.probed)
            host = doctor.profile;
    }
    rig.waitForWorkers();
    say(fmt::format("workers up in {:.1f} s; idle for {:.1f} s",
                    std::chrono::duration<double>(Clock::now() - t0).count(),
                    std::chrono::duration<double>(o.idle).count()));
    return host;
}

// CPU used per phase: the Podman service (with the helpers it reaps:
// copier re-executions, runc start; not conmon or what conmon runs) and
// this process (the REST client side of the floor and the sandbox).
struct Cpu {
    double podman = 0, self = 0;
};

Cpu cpuNow(const Rig& rig) {
    return Cpu{cpuMs(rig.podmanPid()), selfCpuMs()};
}

Cpu cpuSince(const Rig& rig, Cpu before) {
    auto now = cpuNow(rig);
    return Cpu{now.podman - before.podman, now.self - before.self};
}

// The same units three ways, and what each cost.
struct Runs {
    FloorResult floorBefore, floorAfter;
    FloorResult floor; // both floor runs: the mean time, all the samples
    SandboxResult sbox;
    Rig::Batch batch;
    Cpu floorCpu, sandboxCpu, swarmCpu;
    double busyRss = 0, busyPss = 0; // the workers once they have run their share
};

// Podman and the machine drift over a run (the load climbs, Podman's state
// grows), so the floor brackets the sandbox and the swarm, and the figure
// compared is the mean of both runs.
void mergeFloors(Runs& r, Cpu floorAfterCpu) {
    r.floorCpu = Cpu{(r.floorCpu.podman + floorAfterCpu.podman) / 2,
                     (r.floorCpu.self + floorAfterCpu.self) / 2};
    r.floor.seconds = (r.floorBefore.seconds + r.floorAfter.seconds) / 2;
    for (const FloorResult* f : {&r.floorBefore, &r.floorAfter}) {
        auto add = [](std::vector<double>& to, const std::vector<double>& from) {
            to.insert(to.end(), from.begin(), from.end());
        };
        add(r.floor.createMs, f->createMs);
        add(r.floor.startMs, f->startMs);
        add(r.floor.waitMs, f->waitMs);
        add(r.floor.removeMs, f->removeMs);
        add(r.floor.totalMs, f->totalMs);
    }
}

// The floor, the sandbox alone, the swarm, and the floor again.
Runs runAll(Rig& rig, const sandbox::HostProfile& host, const sandbox::Limits& limits,
            const Options& o, std::size_t concurrency) {
    Runs r;
    say(fmt::format("floor: {} containers, {} at once", o.units, concurrency));
    auto cpu0 = cpuNow(rig);
    r.floorBefore = runFloor(rig.socket(), host, limits, o.units, concurrency, rig.floorId());
    r.floorCpu = cpuSince(rig, cpu0);
    say(fmt::format("sandbox: {} units through PodmanRuntime::run, {} at once", o.units,
                    concurrency));
    cpu0 = cpuNow(rig);
    r.sbox = runSandbox(rig.socket(), host, limits, o.units, concurrency, rig.sandboxId(),
                        rig.dir() / "sandbox");
    r.sandboxCpu = cpuSince(rig, cpu0);

    say(fmt::format("swarm: {} units through swarm-submit run", o.units));
    cpu0 = cpuNow(rig);
    r.batch = rig.runBatch();
    r.swarmCpu = cpuSince(rig, cpu0);
    // The workers' memory once they have run their share of the units
    // (leaks show here, not in the idle sample).
    for (pid_t pid : rig.workerPids()) {
        auto p = sampleProc(pid);
        r.busyRss = std::max(r.busyRss, p.rssMiB);
        r.busyPss = std::max(r.busyPss, p.pssMiB);
    }
    say(fmt::format("floor again: {} containers, {} at once", o.units, concurrency));
    cpu0 = cpuNow(rig);
    r.floorAfter = runFloor(rig.socket(), host, limits, o.units, concurrency, rig.floorId());
    mergeFloors(r, cpuSince(rig, cpu0));
    return r;
}

// Everything a run reports, and the three ways it reports it.
struct Report {
    Options o;
    std::size_t concurrency = 0;
    sandbox::PodmanInfo info;
    double loadBefore = 0, loadAfter = 0;
    IdleResult idle;
    StepTimes steps;
    Runs runs;
    Breakdown b;

    // Derived from the above by derive().
    double units = 0, swarmSeconds = 0, dispatchSeconds = 0, swarmRate = 0, dispatchRate = 0,
           sandboxRate = 0, floorRate = 0, floorBeforeRate = 0, floorAfterRate = 0;
    Stats ftotal, fcreate, fstart, fwait, fremove, xtotal, xwall;
    Stats sOffer, sTransfer, sContainer, sWall, sRest, sResult, sTotal, sRss, sPss, sCpu;
    double podmanFloor = 0, podmanSandbox = 0, podmanSwarm = 0, clientFloor = 0, clientSandbox = 0,
           workersCpu = 0, submitterCpu = 0;

    void derive() {
        const auto& floor = runs.floor;
        const auto& sbox = runs.sbox;
        const auto& batch = runs.batch;
        units = static_cast<double>(o.units);
        swarmSeconds = static_cast<double>(b.lastValid - batch.startMs) / 1000.0;
        dispatchSeconds = static_cast<double>(b.lastValid - b.firstAssigned) / 1000.0;
        swarmRate = units / swarmSeconds;
        dispatchRate = units / dispatchSeconds;
        sandboxRate = units / sbox.seconds;
        floorRate = units / floor.seconds;
        floorBeforeRate = units / runs.floorBefore.seconds;
        floorAfterRate = units / runs.floorAfter.seconds;
        ftotal = stats(floor.totalMs), fcreate = stats(floor.createMs),
        fstart = stats(floor.startMs), fwait = stats(floor.waitMs), fremove = stats(floor.removeMs);
        xtotal = stats(sbox.totalMs), xwall = stats(sbox.wallMs);
        sOffer = stats(b.offerToConnect), sTransfer = stats(b.transfer),
        sContainer = stats(b.container), sWall = stats(b.wall), sRest = stats(b.rest),
        sResult = stats(b.resultToValid), sTotal = stats(b.total);
        sRss = stats(idle.rssMiB), sPss = stats(idle.pssMiB), sCpu = stats(idle.cpuPercent);
        const double perUnit = 1.0 / units;
        podmanFloor = runs.floorCpu.podman * perUnit;
        podmanSandbox = runs.sandboxCpu.podman * perUnit;
        podmanSwarm = runs.swarmCpu.podman * perUnit;
        clientFloor = runs.floorCpu.self * perUnit;
        clientSandbox = runs.sandboxCpu.self * perUnit;
        workersCpu = batch.workersCpuMs * perUnit;
        submitterCpu = batch.submitterCpuMs * perUnit;
    }

    void printJson() const {
        std::string j =
            fmt::format("{{\"bench\":\"dispatch\",\"units\":{},\"workers\":{},\"slots\":{},"
                        "\"podman\":\"{}\",\"load_before\":{:.2f},\"load_after\":{:.2f},",
                        o.units, o.workers, o.slots, info.version, loadBefore, loadAfter);
        j += fmt::format("\"swarm_s\":{:.3f},\"swarm_units_per_s\":{:.3f},\"dispatch_s\":{:.3f},"
                         "\"dispatch_units_per_s\":{:.3f},\"sandbox_s\":{:.3f},"
                         "\"sandbox_units_per_s\":{:.3f},\"floor_s\":{:.3f},"
                         "\"floor_units_per_s\":{:.3f},\"ratio\":{:.3f},"
                         "\"ratio_dispatch\":{:.3f},\"ratio_sandbox\":{:.3f},",
                         swarmSeconds, swarmRate, dispatchSeconds, dispatchRate, runs.sbox.seconds,
                         sandboxRate, runs.floor.seconds, floorRate, swarmRate / floorRate,
                         dispatchRate / floorRate, sandboxRate / floorRate);
        j += fmt::format("\"floor_before_units_per_s\":{:.3f},\"floor_after_units_per_s\":{:.3f},",
                         floorBeforeRate, floorAfterRate);
        j += fmt::format("\"submit_to_job_started_ms\":{},\"submit_to_first_offer_ms\":{},"
                         "\"submit_to_first_assign_ms\":{},\"offer_to_connect_ms\":{},"
                         "\"transfer_ms\":{},\"container_ms\":{},\"container_wall_ms\":{},"
                         "\"container_rest_ms\":{},\"result_to_valid_ms\":{},"
                         "\"assign_to_valid_ms\":{},\"inputs_cached\":{},\"reassigned\":{},"
                         "\"slot_busy\":{:.3f},",
                         b.jobStarted - runs.batch.startMs, b.firstOffer - runs.batch.startMs,
                         b.firstAssigned - runs.batch.startMs, statsJson(sOffer),
                         statsJson(sTransfer), statsJson(sContainer), statsJson(sWall),
                         statsJson(sRest), statsJson(sResult), statsJson(sTotal), b.cachedInputs,
                         b.reassigned, b.slotBusy);
        j += fmt::format("\"sandbox_unit_ms\":{},\"sandbox_wall_ms\":{},"
                         "\"floor_container_ms\":{},\"floor_create_ms\":{},\"floor_start_ms\":{},"
                         "\"floor_wait_ms\":{},\"floor_remove_ms\":{},",
                         statsJson(xtotal), statsJson(xwall), statsJson(ftotal), statsJson(fcreate),
                         statsJson(fstart), statsJson(fwait), statsJson(fremove));
        j += fmt::format("\"cpu_ms_per_unit\":{{\"podman_floor\":{:.1f},\"podman_sandbox\":{:.1f},"
                         "\"podman_swarm\":{:.1f},\"client_floor\":{:.1f},"
                         "\"client_sandbox\":{:.1f},\"workers\":{:.1f},\"submitter\":{:.1f}}},",
                         podmanFloor, podmanSandbox, podmanSwarm, clientFloor, clientSandbox,
                         workersCpu, submitterCpu);
        j += "\"steps_ms\":{";
        for (std::size_t i = 0; i < steps.names.size(); ++i)
            j += fmt::format("{}\"{}\":{}", i ? "," : "", steps.names[i],
                             statsJson(stats(steps.ms.at(steps.names[i]))));
        j += "},";
        j += fmt::format("\"idle_seconds\":{:.1f},\"idle_rss_mib_max\":{:.1f},"
                         "\"idle_pss_mib_max\":{:.1f},\"idle_cpu_percent_max\":{:.2f},"
                         "\"idle_worker_children\":{},\"podman_service_rss_mib\":{:.1f},"
                         "\"worker_rss_mib_after\":{:.1f},\"worker_pss_mib_after\":{:.1f}}}",
                         idle.seconds, sRss.max, sPss.max, sCpu.max, idle.children,
                         idle.podmanRssMiB, runs.busyRss, runs.busyPss);
        fmt::print("{}\n", j);
    }

    void printText() const {
        printRates();
        printPhases();
        printCosts();
    }

    void printRates() const {
        fmt::print("swarm-bench dispatch: {} units (echo, {}), {} worker(s) x {} slot(s), R=1, "
                   "podman {} {}; load {:.1f} -> {:.1f}\n",
                   o.units, kImage, o.workers, o.slots, info.version, info.runtime, loadBefore,
                   loadAfter);
        auto row = [](std::string_view what, double seconds, double rate) {
            fmt::print("  {:<50} {:>8.2f} {:>8.2f}\n", what, seconds, rate);
        };
        fmt::print("  {:<50} {:>8} {:>8}\n", "", "seconds", "units/s");
        row("swarm    submit start -> all validated", swarmSeconds, swarmRate);
        row("swarm    first assignment -> all validated", dispatchSeconds, dispatchRate);
        row(fmt::format("sandbox  PodmanRuntime::run, {} at once", concurrency), runs.sbox.seconds,
            sandboxRate);
        row(fmt::format("floor    Podman REST, {} at once (mean)", concurrency), runs.floor.seconds,
            floorRate);
        fmt::print("  {:<50} {:>8.2f} {:>8.2f}\n", "  floor before the sandbox",
                   runs.floorBefore.seconds, floorBeforeRate);
        fmt::print("  {:<50} {:>8.2f} {:>8.2f}\n", "  floor after the swarm",
                   runs.floorAfter.seconds, floorAfterRate);
        fmt::print("  ratio swarm/floor {:.2f} (target >= 0.9); from the first assignment "
                   "{:.2f}; sandbox/floor {:.2f}; swarm/sandbox {:.2f}\n",
                   swarmRate / floorRate, dispatchRate / floorRate, sandboxRate / floorRate,
                   swarmRate / sandboxRate);
        fmt::print("  swarm startup: submit -> job-started {} ms, -> first offer {} ms, -> first "
                   "assignment {} ms\n",
                   b.jobStarted - runs.batch.startMs, b.firstOffer - runs.batch.startMs,
                   b.firstAssigned - runs.batch.startMs);
    }

    void printPhases() const {
        fmt::print("  {:<50} {:>7} {:>7} {:>7} {:>5}\n", "phase (ms)", "p50", "p90", "mean", "n");
        auto phase = [](std::string_view what, const Stats& st) {
            fmt::print("  {:<50} {}\n", what, statsCell(st));
        };
        phase("swarm: offer -> connected (per worker)", sOffer);
        phase("swarm: assigned -> inputs sent (transfer)", sTransfer);
        phase("swarm: inputs sent -> result received (container)", sContainer);
        phase("  of which start -> exit (the worker's wall_ms)", sWall);
        phase("  of which the rest (create, copies, removal)", sRest);
        phase("swarm: result received -> validated", sResult);
        phase("swarm: assigned -> validated", sTotal);
        phase("sandbox: one run()", xtotal);
        phase("  of which start -> exit", xwall);
        phase("floor: create (volume + container)", fcreate);
        phase("floor: start", fstart);
        phase("floor: wait (interval=10ms)", fwait);
        phase("floor: remove (container + volume)", fremove);
        phase("floor: one container, create -> removed", ftotal);
        if (!steps.names.empty()) {
            std::vector<double> sums(o.steps, 0.0);
            for (const auto& n : steps.names) {
                const auto& v = steps.ms.at(n);
                for (std::size_t i = 0; i < v.size() && i < sums.size(); ++i)
                    sums[i] += v[i];
                phase("one at a time: " + n, stats(v));
            }
            phase("one at a time: all of the above", stats(sums));
        }
    }

    void printCosts() const {
        fmt::print(
            "  CPU per unit (ms): Podman service: floor {:.0f}, sandbox {:.0f}, swarm {:.0f}; "
            "its clients: floor {:.0f}, sandbox {:.0f} (this process), swarm workers {:.0f} "
            "+ submitter {:.0f}\n",
            podmanFloor, podmanSandbox, podmanSwarm, clientFloor, clientSandbox, workersCpu,
            submitterCpu);
        fmt::print("  swarm slots busy {:.0f}% of the time from the first assignment; inputs "
                   "cached for {} unit(s); {} unit(s) assigned more than once\n",
                   b.slotBusy * 100, b.cachedInputs, b.reassigned);
        fmt::print("  idle worker over {:.1f} s: RSS max {:.1f} MiB (target <= 30; PSS {:.1f} "
                   "MiB), CPU max {:.2f}% of one core (target <= 1); the worker process only "
                   "({} child process(es); the shared podman service: RSS {:.1f} MiB)\n",
                   idle.seconds, sRss.max, sPss.max, sCpu.max, idle.children, idle.podmanRssMiB);
        fmt::print("  worker after the run ({:.0f} units each): RSS max {:.1f} MiB (PSS {:.1f} "
                   "MiB)\n",
                   units / static_cast<double>(o.workers), runs.busyRss, runs.busyPss);
    }

    void appendCsv() const {
        bool fresh = !fs::exists(o.csv);
        std::ofstream csv(o.csv, std::ios::app);
        if (!csv)
            throw std::runtime_error("cannot write " + o.csv);
        if (fresh)
            csv << "units,workers,slots,swarm_s,swarm_ups,dispatch_ups,sandbox_ups,floor_s,"
                   "floor_ups,ratio,ratio_dispatch,ratio_sandbox,offer_connect_p50,"
                   "transfer_p50,container_p50,wall_p50,result_valid_p50,sandbox_unit_p50,"
                   "floor_container_p50,slot_busy,podman_cpu_floor,podman_cpu_sandbox,"
                   "podman_cpu_swarm,workers_cpu,submitter_cpu,idle_rss_mib_max,"
                   "idle_cpu_pct_max,load_before,load_after,floor_before_ups,floor_after_ups\n";
        csv << fmt::format("{},{},{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},"
                           "{:.3f},{:.0f},{:.0f},{:.0f},{:.0f},{:.0f},{:.0f},{:.0f},{:.3f},"
                           "{:.0f},{:.0f},{:.0f},{:.0f},{:.0f},{:.1f},{:.2f},{:.2f},{:.2f},"
                           "{:.3f},{:.3f}\n",
                           o.units, o.workers, o.slots, swarmSeconds, swarmRate, dispatchRate,
                           sandboxRate, runs.floor.seconds, floorRate, swarmRate / floorRate,
                           dispatchRate / floorRate, sandboxRate / floorRate, sOffer.p50,
                           sTransfer.p50, sContainer.p50, sWall.p50, sResult.p50, xtotal.p50,
                           ftotal.p50, b.slotBusy, podmanFloor, podmanSandbox, podmanSwarm,
                           workersCpu, submitterCpu, sRss.max, sCpu.max, loadBefore, loadAfter,
                           floorBeforeRate, floorAfterRate);
    }
};

int runDispatch(const DispatchFlags& flags, const cli::Globals& globals) {
    const Options o = optionsFrom(flags);
    checkOptions(o);

    // Nothing but an interrupt may end this process before it has stopped
    // its children: a closed pipe or terminal only fails writes.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    cli::SignalWatcher watcher([](int) { gInterrupted = true; });
    auto programs = programDir();
    Report report{.o = o, .concurrency = o.workers * o.slots, .loadBefore = loadAverage()};

    Rig rig(o, programs);
    report.info = rig.info();
    say(fmt::format("podman {} ({}, {}, cgroups {}) service up; {} worker(s) x {} slot(s)",
                    rig.info().version, rig.info().rootless ? "rootless" : "rootful",
                    rig.info().runtime, rig.info().cgroupVersion, o.workers, o.slots));
    auto host = startWorkers(rig, o);
    nap(1s); // past the announcement
    report.idle = sampleIdle(rig.workerPids(), rig.podmanPid(), o.idle);

    // The same limits a worker gives this job's units.
    sandbox::Limits limits = worker::slotLimits(worker::WorkerConfig{});
    limits.timeout = 60s;
    if (o.steps > 0) {
        say(fmt::format("steps: the sandbox's requests for {} container(s), one at a time",
                        o.steps));
        report.steps = probeSteps(rig.socket(), host, limits, o.steps, rig.floorId(), rig.dir());
    }
    report.runs = runAll(rig, host, limits, o, report.concurrency);

    report.b = analyse(report.runs.batch.events, report.concurrency);
    if (report.b.valid != o.units)
        throw std::runtime_error(fmt::format("only {} of {} units validated (events in {})",
                                             report.b.valid, o.units,
                                             report.runs.batch.events.string()));
    report.loadAfter = loadAverage();
    report.derive();
    if (globals.json)
        report.printJson();
    else
        report.printText();
    if (!o.csv.empty())
        report.appendCsv();
    return 0;
}

} // namespace

cli::Command dispatchCommand() {
    return {"dispatch", "a real swarm's units/s vs direct Podman; idle worker RSS/CPU",
            [](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<DispatchFlags>();
                declareDispatchFlags(app, *flags);
                return [flags](const cli::Globals& g) { return runDispatch(*flags, g); };
            }};
}

} // namespace swarm::bench

#include "sandbox/podman_runtime.hpp"

#include "sandbox/log_demuxer.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_json.hpp"
#include "sandbox/tar_reader.hpp"
#include "sandbox/tar_writer.hpp"
#include "sandbox/volume_files.hpp"
#include "wire/bytes.hpp"
#include "wire/log.hpp"

#include <json/json.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace swarm::sandbox {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const wire::Logger kLog("sandbox");

std::string errorText(const HttpResponse& r) {
    try {
        auto v = parsePodmanJson(r.body);
        if (v.isObject() && v.isMember("message"))
            return v["message"].asString();
    } catch (...) {
    }
    return r.body.substr(0, 300);
}

PodmanClient::Request req(std::string_view method, std::string path,
                          std::chrono::milliseconds timeout = 30s) {
    PodmanClient::Request r;
    r.method = method;
    r.path = std::move(path);
    r.timeout = timeout;
    return r;
}

wire::Bytes readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        throw std::system_error(errno, std::generic_category(), "open " + p.string());
    return wire::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

wire::Bytes inputArchive(const UnitSpec& spec) {
    auto [uid, gid] = parseUser(spec.user);
    TarWriter tar;
    // Inputs are root-owned and read-only for the unit; out/ belongs to it.
    tar.addDirectory("in", 0555);
    std::set<std::string> dirs;
    for (const auto& in : spec.inputs) {
        std::string rel = "in/" + in.name;
        for (auto slash = rel.find('/', 3); slash != std::string::npos;
             slash = rel.find('/', slash + 1)) {
            std::string d = rel.substr(0, slash);
            if (dirs.insert(d).second)
                tar.addDirectory(d, 0555);
        }
        auto data = readFile(in.source);
        tar.addFile(rel, data, 0444);
    }
    tar.addDirectory("out", 0755, {uid, gid});
    return tar.finish();
}

// Removes everything below `dir` (outputs that were refused half-way).
void emptyDirectory(const std::filesystem::path& dir) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
        std::filesystem::remove_all(e.path(), ec);
}

std::string randomSuffix() {
    std::array<std::uint8_t, 4> b{};
    wire::randomBytes(b);
    return wire::toHex(b);
}

// Sums the regular files below the volume's host directory without following
// links. Returns why the unit must be stopped, or nullopt. A directory the
// unit made unreadable to us counts as a violation: hidden bytes are not
// bounded bytes.
std::optional<std::string> volumeOverCap(const std::filesystem::path& dir, std::uint64_t maxBytes,
                                         std::uint64_t maxEntries) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
    if (ec)
        return std::nullopt; // the volume went away: the unit has exited
    std::uint64_t bytes = 0, entries = 0;
    for (; it != end; it.increment(ec)) {
        if (ec)
            return "cannot inspect /work (" + ec.message() + ")";
        if (++entries > maxEntries)
            return "more than " + std::to_string(maxEntries) + " files in /work";
        auto st = it->symlink_status(ec);
        if (ec)
            continue; // removed meanwhile
        if (fs::is_regular_file(st)) {
            auto size = it->file_size(ec);
            if (!ec)
                bytes += size;
        }
        if (bytes > maxBytes)
            return "more than " + std::to_string(maxBytes) + " bytes written to /work";
    }
    if (ec)
        return "cannot inspect /work (" + ec.message() + ")";
    return std::nullopt;
}

std::vector<std::string> stringList(const Json::Value& v) {
    std::vector<std::string> out;
    if (v.isArray())
        for (const auto& e : v)
            out.push_back(e.asString());
    return out;
}

// The container's id mapping, from inspect; nullopt when it cannot be told
// (then the archive endpoints, which apply it themselves, are used).
std::optional<IdMapping> idMappingOf(PodmanClient& client, const std::string& container,
                                     bool expectNamespace) {
    auto r = client.call(req("GET", "/containers/" + container + "/json"));
    if (r.status != 200)
        return std::nullopt;
    const auto maps = parsePodmanJson(r.body)["HostConfig"]["IDMappings"];
    auto uids = stringList(maps["UidMap"]);
    auto gids = stringList(maps["GidMap"]);
    if (expectNamespace && (uids.empty() || gids.empty()))
        return std::nullopt;
    return IdMapping::parse(uids, gids);
}

// Outputs through GET /archive?path=/work/out, capped while they stream.
std::expected<std::vector<OutputFile>, wire::Error>
outputsByArchive(PodmanClient& client, const std::string& container, const UnitSpec& spec) {
    const Limits& l = spec.limits;
    std::uint64_t cap =
        l.maxOutputBytes + (std::uint64_t(l.maxOutputFiles) + 16) * 2048 + (1u << 20);
    std::string tarBytes;
    bool overCap = false;
    long status =
        client.stream(req("GET", "/containers/" + container + "/archive?path=/work/out", 120s),
                      [&](std::string_view chunk) {
                          if (tarBytes.size() + chunk.size() > cap) {
                              overCap = true;
                              return false;
                          }
                          tarBytes.append(chunk);
                          return true;
                      });
    using Code = wire::Error::Code;
    if (overCap)
        return std::unexpected(wire::Error(
            Code::kTooLarge, "outputs exceed " + std::to_string(l.maxOutputBytes) + " bytes"));
    if (status == 404)
        return std::unexpected(wire::Error(Code::kNotFound, "the unit removed /work/out"));
    if (status != 200)
        throw std::runtime_error("podman: copying outputs: HTTP " + std::to_string(status));
    ExtractOptions opt;
    opt.stripComponent = "out";
    opt.maxBytes = l.maxOutputBytes;
    opt.maxEntries = l.maxOutputFiles;
    auto files = extractTar(wire::asBytes(tarBytes), spec.outputDir, opt);
    if (!files)
        return std::unexpected(
            wire::Error(files.error().code, "outputs refused: " + files.error().what));
    return files;
}

// The exit code /wait answers with (a bare JSON number), if that is what
// the body holds.
std::optional<int> exitCodeOf(std::string_view body) {
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
        body.remove_suffix(1);
    int code = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), code);
    if (ec != std::errc{} || end != body.data() + body.size() || body.empty())
        return std::nullopt;
    return code;
}

// Deletes the container and its volume whatever happens to the run.
class Cleanup {
public:
    Cleanup(PodmanClient& client, const ContainerNames& names) : client_(client), names_(names) {}
    ~Cleanup() {
        try {
            if (container_) {
                // A short bounded retry should Podman answer an error (with
                // Podman's own shm mount, removal failed once with "shm:
                // device or resource busy" right after exit; units no
                // longer have one, see buildCreateBody).
                for (int attempt = 0; attempt < 4; ++attempt) {
                    auto r = client_.call(req("DELETE", "/containers/" + names_.container +
                                                            "?force=true&v=true&t=0"));
                    if (r.status == 200 || r.status == 204 || r.status == 404)
                        break;
                    if (attempt == 3)
                        kLog.warn("removing container {}: HTTP {} {}", names_.container, r.status,
                                  errorText(r));
                    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
                }
            }
            if (volume_) {
                auto r = client_.call(req("DELETE", "/volumes/" + names_.volume + "?force=true"));
                if (r.status != 204 && r.status != 404)
                    kLog.warn("removing volume {}: HTTP {} {}", names_.volume, r.status,
                              errorText(r));
            }
        } catch (const std::exception& e) {
            kLog.warn("cleanup of {} failed: {} (cleanupLeftovers removes it later)",
                      names_.container, e.what());
        }
    }
    bool container_ = false;
    bool volume_ = false;

private:
    PodmanClient& client_;
    const ContainerNames& names_;
};

// Streams the container's stdout/stderr from before start to exit, so that
// every byte is counted even when conmon truncates its log file. Joined on
// destruction; must be destroyed after the container is removed (removal ends
// the stream if nothing else did).
class Attach {
public:
    explicit Attach(std::uint64_t cap) : logs_(cap) {}
    ~Attach() { join(); }

    void begin(const std::filesystem::path& socket, const std::string& container,
               std::chrono::milliseconds timeout) {
        thread_ = std::thread([this, socket, container, timeout] {
            try {
                PodmanClient c(socket);
                auto r = req("POST",
                             "/containers/" + container +
                                 "/attach?stream=true&stdout=true&stderr=true&logs=false",
                             timeout);
                r.onHeaders = [this](long status) {
                    std::lock_guard g(m_);
                    status_ = status;
                    ready_ = true;
                    cv_.notify_all();
                };
                c.stream(r, [this](std::string_view chunk) {
                    logs_.feed(chunk);
                    return true;
                });
            } catch (...) {
                error_ = std::current_exception();
            }
            std::lock_guard g(m_);
            ready_ = true;
            ended_ = true;
            cv_.notify_all();
        });
    }
    /// True once Podman answered the attach with 200 (within `timeout`).
    bool attached(std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_);
        cv_.wait_for(lock, timeout, [this] { return ready_; });
        return ready_ && status_ == 200;
    }
    /// True once the stream has ended (the unit's stdout and stderr are
    /// closed, normally because it exited), waiting at most `timeout`.
    bool ended(std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [this] { return ended_; });
    }
    void join() {
        if (thread_.joinable())
            thread_.join();
    }
    /// The captured logs, or nullptr when the attach stream failed.
    const LogDemuxer* logs() const {
        return (status_ == 200 && !error_ && !logs_.malformed()) ? &logs_ : nullptr;
    }

private:
    std::thread thread_;
    std::mutex m_;
    std::condition_variable cv_;
    bool ready_ = false;
    bool ended_ = false;
    long status_ = 0;
    std::exception_ptr error_;
    LogDemuxer logs_;
};

} // namespace

PodmanRuntime::PodmanRuntime(std::filesystem::path socket, HostProfile host)
    : socket_(std::move(socket)), host_(std::move(host)) {}

UnitResult PodmanRuntime::run(const UnitSpec& spec) {
    if (auto ok = validateSpec(spec); !ok) {
        UnitResult r;
        r.error = ok.error().what;
        return r;
    }
    PodmanClient client(socket_);
    auto names = containerNames(spec.unitId, randomSuffix());
    return runIn(client, spec, names);
}

UnitResult PodmanRuntime::runIn(PodmanClient& client, const UnitSpec& spec,
                                const ContainerNames& names) {
    const Limits& l = spec.limits;
    UnitResult result;
    Attach attach(l.maxLogBytes); // declared first: joined after the cleanup below
    Cleanup cleanup(client, names);

    // Volume first (labelled, so that leftovers can be found), then the container.
    std::string volBody = buildVolumeBody(spec, names);
    auto vr = client.call([&] {
        auto r = req("POST", "/volumes/create");
        r.body = volBody;
        return r;
    }());
    if (vr.status != 201 && vr.status != 200)
        throw std::runtime_error("podman: volume create: HTTP " + std::to_string(vr.status) + " " +
                                 errorText(vr));
    cleanup.volume_ = true;
    // The volume's host directory (the create answer names it), if this
    // process can see it (a local service run by the same user, or root):
    // used to watch disk use and for the direct copies.
    std::filesystem::path volumeDir;
    {
        std::error_code ec;
        std::filesystem::path mp = parsePodmanJson(vr.body)["Mountpoint"].asString();
        if (!mp.empty() && std::filesystem::is_directory(mp, ec))
            volumeDir = mp;
        if (volumeDir.empty())
            kLog.debug("volume {} not visible here: disk use checked only after exit",
                       names.volume);
    }

    std::string body = buildCreateBody(spec, host_, names);
    auto cr = client.call([&] {
        auto r = req("POST", "/containers/create");
        r.body = body;
        return r;
    }());
    if (cr.status != 201) {
        result.error =
            "container create failed: HTTP " + std::to_string(cr.status) + " " + errorText(cr);
        return result; // e.g. image missing: the unit's problem, reported
    }
    cleanup.container_ = true;

    // Inputs: straight into the volume's host directory where this process
    // can set owners there, else through the archive endpoint.
    bool direct = false;
    std::uint64_t inputBytes = 0;
    if (!volumeDir.empty() && host_.directVolumeCopies && ::geteuid() == 0) {
        auto ids = idMappingOf(client, names.container, host_.usernsAuto);
        auto [uid, gid] = parseUser(spec.user);
        auto root = ids ? ids->toHost({0, 0}) : std::nullopt;
        auto unit = ids ? ids->toHost({uid, gid}) : std::nullopt;
        if (root && unit) {
            inputBytes = writeInputs(volumeDir, spec.inputs, *root, *unit);
            direct = result.copiedDirectly = true;
        } else {
            kLog.debug("no id mapping for {}: copying through the archive endpoints",
                       names.container);
        }
    }
    if (!direct) {
        auto archive = inputArchive(spec);
        inputBytes = archive.size();
        auto pr = client.call([&] {
            auto r = req("PUT",
                         "/containers/" + names.container + "/archive?path=/work&copyUIDGID=false",
                         120s);
            r.body =
                std::string_view(reinterpret_cast<const char*>(archive.data()), archive.size());
            r.contentType = "application/x-tar";
            return r;
        }());
        if (pr.status != 200)
            throw std::runtime_error("podman: copying inputs: HTTP " + std::to_string(pr.status) +
                                     " " + errorText(pr));
    }

    attach.begin(socket_, names.container, l.timeout + 60s);
    const bool streaming = attach.attached(10s);
    if (!streaming)
        kLog.warn("attach to {} failed; reading logs afterwards instead", names.container);

    auto started = Clock::now();
    auto sr = client.call(req("POST", "/containers/" + names.container + "/start"));
    if (sr.status != 204 && sr.status != 304) {
        result.error =
            "container start failed: HTTP " + std::to_string(sr.status) + " " + errorText(sr);
        return result;
    }
    result.started = true;

    // Wait for exit, bounded by the unit's timeout; then kill and wait again.
    // Where the volume is visible to us, wait in short slices and check
    // between them that the unit does not fill the disk through /work.
    // While the log stream is open the unit is running: wait on the stream,
    // which costs Podman nothing. Its /wait polls the container's state
    // (every 10 ms here, about 8% of a core per running unit on this
    // machine), so it is asked only once the stream has ended. Should the
    // stream ever outlive the unit, an inspect once a second (about 3 ms of
    // the service's CPU) notices the exit all the same.
    bool streamOpen = streaming;
    auto lastStateCheck = Clock::now();
    auto waitPath = "/containers/" + names.container + "/wait?condition=exited&interval=10ms";
    auto deadline = started + l.timeout;
    std::uint64_t diskCap = inputBytes + l.maxOutputBytes + (1u << 20);
    std::uint64_t entryCap = spec.inputs.size() + 2ull * l.maxOutputFiles + 64;
    std::string killReason;
    std::optional<int> waitedExit; // the exit code /wait answered with
    auto checkBetweenSlices = [&] {
        if (spec.stop.stop_requested())
            killReason = "cancelled";
        else if (!volumeDir.empty()) {
            if (auto over = volumeOverCap(volumeDir, diskCap, entryCap))
                killReason = *over;
        }
    };
    while (killReason.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) {
            killReason = "timeout";
            break;
        }
        if (spec.stop.stop_requested()) {
            killReason = "cancelled";
            break;
        }
        // Short slices when there is something to check between them.
        auto slice = volumeDir.empty() && !spec.stop.stop_possible()
                         ? left
                         : std::min<std::chrono::milliseconds>(left, 250ms);
        if (streamOpen) {
            if (attach.ended(std::min<std::chrono::milliseconds>(slice, 1s))) {
                streamOpen = false;
                continue;
            }
            checkBetweenSlices();
            if (killReason.empty() && Clock::now() - lastStateCheck >= 1s) {
                lastStateCheck = Clock::now();
                auto ir = client.call(req("GET", "/containers/" + names.container + "/json"));
                if (ir.status == 404 ||
                    (ir.status == 200 && !parsePodmanJson(ir.body)["State"]["Running"].asBool()))
                    streamOpen = false;
            }
            continue;
        }
        try {
            auto wr = client.call(req("POST", waitPath, slice));
            // 404 shows up transiently right at exit (while conmon's cleanup
            // runs): treat it as exited and let the inspect below decide.
            if (wr.status == 404)
                break;
            if (wr.status != 200)
                throw std::runtime_error("podman: wait: HTTP " + std::to_string(wr.status) + " " +
                                         errorText(wr));
            waitedExit = exitCodeOf(wr.body);
            break; // exited
        } catch (const TimeoutError&) {
            checkBetweenSlices();
        }
    }
    if (!killReason.empty()) {
        if (killReason == "timeout") {
            result.timedOut = true;
        } else {
            result.outputsRejected = true;
            result.error = "killed: " + killReason;
        }
        auto kr = client.call(req("POST", "/containers/" + names.container + "/kill?signal=KILL"));
        // 409, or 500 "can only kill running containers": it exited meanwhile.
        bool exited = kr.status == 409 ||
                      (kr.status == 500 && errorText(kr).find("running") != std::string::npos);
        if (kr.status != 204 && !exited)
            kLog.warn("kill {}: HTTP {} {}", names.container, kr.status, errorText(kr));
        auto wr = client.call(req("POST", waitPath, 30s));
        if (wr.status != 200 && wr.status != 404)
            throw std::runtime_error("podman: wait after kill: HTTP " + std::to_string(wr.status));
    }
    result.wallTime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);

    // A clean exit, as /wait reported it, needs no inspect. Otherwise the
    // inspect tells the exit code and OOMKilled.
    if (killReason.empty() && waitedExit == 0)
        result.exitCode = 0;
    else
        inspectExit(client, names.container, !killReason.empty(), result);

    // Logs: from the attach stream (exact truncation flag), else from the
    // log file, which conmon keeps bounded.
    attach.join();
    if (const LogDemuxer* captured = attach.logs()) {
        result.stdoutText = captured->out();
        result.stderrText = captured->err();
        result.logsTruncated = captured->truncated();
    } else {
        LogDemuxer logs(l.maxLogBytes);
        client.stream(
            req("GET", "/containers/" + names.container + "/logs?stdout=true&stderr=true", 60s),
            [&](std::string_view chunk) { return logs.feed(chunk) && !logs.truncated(); });
        result.stdoutText = logs.out();
        result.stderrText = logs.err();
        result.logsTruncated = logs.truncated();
    }

    // Outputs, unless the unit was killed for filling the disk.
    if (!result.outputsRejected) {
        auto files =
            direct ? copyOutputs(volumeDir, spec.outputDir, l.maxOutputBytes, l.maxOutputFiles)
                   : outputsByArchive(client, names.container, spec);
        if (!files) {
            emptyDirectory(spec.outputDir);
            result.outputsRejected = true;
            const auto& e = files.error();
            bool plain = !direct || e.code == wire::Error::Code::kNotFound;
            result.error = plain ? e.what : "outputs refused: " + e.what;
        } else {
            result.outputs = std::move(*files);
        }
    }
    if (result.error.empty()) {
        if (result.timedOut)
            result.error = "timed out after " + std::to_string(l.timeout.count()) + " ms";
        else if (result.oomKilled)
            result.error = "killed: out of memory";
    }
    return result;
}

void PodmanRuntime::inspectExit(PodmanClient& client, const std::string& container, bool killedByUs,
                                UnitResult& result) const {
    // Like wait, inspect can answer 404 for a moment right after exit; a
    // short bounded retry before giving up.
    HttpResponse ir;
    for (int attempt = 0; attempt < 5; ++attempt) {
        ir = client.call(req("GET", "/containers/" + container + "/json"));
        if (ir.status == 200)
            break;
        kLog.debug("inspect {}: HTTP {} {}", container, ir.status, errorText(ir));
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    }
    if (ir.status != 200)
        throw std::runtime_error("podman: inspect " + container + ": HTTP " +
                                 std::to_string(ir.status) + " " + errorText(ir));
    auto state = parsePodmanJson(ir.body)["State"];
    result.exitCode = state["ExitCode"].asInt();
    // State.OOMKilled is not reliable (it read false for real kills on cgroup
    // v1): a SIGKILL we did not send (no timeout, no disk kill), with the
    // memory limit enforced, is the OOM killer.
    bool memoryLimited = host_.cgroupLimits && host_.memoryEnforced;
    result.oomKilled =
        state["OOMKilled"].asBool() || (!killedByUs && result.exitCode == 137 && memoryLimited);
}

std::size_t PodmanRuntime::cleanupLeftovers(std::string_view workerId) {
    PodmanClient client(socket_);
    std::string worker(workerId);
    // Podman 4.3 ANDs several label filters for containers but ORs them for
    // volumes ("swarm=1" alone then matches every worker's volumes). Filter
    // on the worker label only, and check both labels here before removing.
    std::string filter = R"({"label":["swarm.worker=)" + worker + R"("]})";
    auto ours = [&](const Json::Value& labels) {
        return labels.isObject() && labels[std::string(kLabelSwarm)].asString() == "1" &&
               labels[std::string(kLabelWorker)].asString() == worker;
    };
    std::size_t removed = 0;
    auto cr = client.call(
        req("GET", "/containers/json?all=true&filters=" + PodmanClient::escape(filter)));
    if (cr.status != 200)
        throw std::runtime_error("podman: list containers: HTTP " + std::to_string(cr.status));
    for (const auto& c : parsePodmanJson(cr.body)) {
        if (!ours(c["Labels"]))
            continue;
        auto id = c["Id"].asString();
        auto r = client.call(req("DELETE", "/containers/" + id + "?force=true&v=true&t=0"));
        if (r.status == 200 || r.status == 204)
            ++removed;
    }
    auto vr = client.call(req("GET", "/volumes/json?filters=" + PodmanClient::escape(filter)));
    if (vr.status != 200)
        throw std::runtime_error("podman: list volumes: HTTP " + std::to_string(vr.status));
    for (const auto& v : parsePodmanJson(vr.body)) {
        if (!ours(v["Labels"]))
            continue;
        // Never force: a volume still in use belongs to a live container.
        auto r = client.call(req("DELETE", "/volumes/" + v["Name"].asString()));
        if (r.status == 204)
            ++removed;
    }
    if (removed)
        kLog.info("removed {} leftover containers/volumes of worker {}", removed, workerId);
    return removed;
}

PodmanInfo queryInfo(PodmanClient& client) {
    auto r = client.call(req("GET", "/info"));
    if (r.status != 200)
        throw std::runtime_error("podman: info: HTTP " + std::to_string(r.status));
    auto v = parsePodmanJson(r.body);
    PodmanInfo info;
    info.version = v["version"]["Version"].asString();
    info.rootless = v["host"]["security"]["rootless"].asBool();
    info.cgroupVersion = v["host"]["cgroupVersion"].asString();
    info.runtime = v["host"]["ociRuntime"]["name"].asString();
    info.storageDriver = v["store"]["graphDriverName"].asString();
    info.cgroupManager = v["host"]["cgroupManager"].asString();
    return info;
}

HostProfile profileFromInfo(const PodmanInfo& info,
                            std::optional<std::filesystem::path> seccompProfile) {
    HostProfile p;
    p.rootless = info.rootless;
    p.cgroupLimits = !(info.rootless && info.cgroupVersion == "v1");
    p.usernsAuto = !info.rootless;
    p.memoryEnforced = p.cgroupLimits;
    p.pidsEnforced = p.cgroupLimits;
    p.seccompProfile = std::move(seccompProfile);
    return p;
}

} // namespace swarm::sandbox

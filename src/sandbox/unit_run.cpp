#include "sandbox/unit_run.hpp"
#include "sandbox/podman_json.hpp"

#include "sandbox/freeze_control.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_request.hpp"
#include "sandbox/tar_reader.hpp"
#include "sandbox/tar_writer.hpp"
#include "sandbox/volume_files.hpp"
#include "wire/bytes.hpp"
#include "wire/log.hpp"

#include <json/json.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <thread>

namespace swarm::sandbox {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
const wire::Logger kLog("sandbox");

constexpr std::string_view kWaitExited = "/wait?condition=exited&interval=10ms";

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
    tar.addDirectory("ckpt", 0755, {uid, gid});
    return tar.finish();
}

// Removes everything below `dir` (outputs that were refused half-way).
void emptyDirectory(const std::filesystem::path& dir) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
        std::filesystem::remove_all(e.path(), ec);
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

// The container's id mapping, from inspect; nullopt when it cannot be told
// (then the archive endpoints, which apply it themselves, are used).
std::optional<IdMapping> idMappingOf(PodmanClient& client, const std::string& container,
                                     bool expectNamespace) {
    auto r = client.call(request("GET", "/containers/" + container + "/json"));
    if (r.status != 200)
        return std::nullopt;
    const auto maps = parsePodmanJson(r.body)["HostConfig"]["IDMappings"];
    auto uids = stringList(maps["UidMap"]);
    auto gids = stringList(maps["GidMap"]);
    if (expectNamespace && (uids.empty() || gids.empty()))
        return std::nullopt;
    return IdMapping::parse(uids, gids);
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

void keepLogs(const LogDemuxer& logs, UnitResult& result) {
    result.stdoutText = logs.out();
    result.stderrText = logs.err();
    result.logsTruncated = logs.truncated();
    result.stdoutTruncated = logs.outTruncated();
    result.stderrTruncated = logs.errTruncated();
}

} // namespace

UnitRun::UnitRun(PodmanClient& client, const HostProfile& host, const UnitSpec& spec,
                 ContainerNames names)
    : client_(client), host_(host), spec_(spec), names_(std::move(names)),
      attach_(spec.limits.maxLogBytes, spec.tap), freezer_(client, freezeMethodFor(host)) {}

UnitRun::~UnitRun() {
    if (spec_.freeze != nullptr && procs_)
        spec_.freeze->ended(procs_.get()); // also when run() threw
    remove();
}

UnitResult UnitRun::run() {
    // Volume first (labelled, so that leftovers can be found), then the container.
    createVolume();
    if (!createContainer())
        return std::move(result_);
    copyInputs();
    attach();
    if (!start())
        return std::move(result_);
    watchFreeze();
    waitForExit();
    if (!killReason_.empty()) {
        thawForEnd();
        kill();
    }
    result_.wallTime = std::chrono::duration_cast<milliseconds>(Clock::now() - started_);
    result_.frozenTime = deadline_->frozenFor(Clock::now());
    if (spec_.freeze != nullptr && procs_)
        spec_.freeze->ended(procs_.get());
    readExitCode();
    readLogs();
    // Outputs, unless the unit was killed for filling the disk or cancelled;
    // of a unit given back, its checkpoint only.
    if (result_.givenBack)
        collectCheckpoint();
    else if (!result_.outputsRejected)
        collectOutputs();
    explainFailure();
    return std::move(result_);
}

void UnitRun::createVolume() {
    std::string body = buildVolumeBody(spec_, names_);
    auto r = request("POST", "/volumes/create");
    r.body = body;
    auto vr = client_.call(r);
    if (vr.status != 201 && vr.status != 200)
        throw base::Failure(
            vr.status >= 400 && vr.status < 500 ? base::PodmanErrc::kSpecRefused
                                                : base::podmanErrcForStatus(vr.status),
            "podman: volume create: HTTP " + std::to_string(vr.status) + " " + errorText(vr));
    volumeCreated_ = true;
    // The volume's host directory (the create answer names it), if this
    // process can see it (a local service run by the same user, or root):
    // used to watch disk use and for the direct copies.
    std::error_code ec;
    std::filesystem::path mp = parsePodmanJson(vr.body)["Mountpoint"].asString();
    if (!mp.empty() && std::filesystem::is_directory(mp, ec))
        volumeDir_ = mp;
    else
        kLog.debug("volume {} not visible here: disk use checked only after exit", names_.volume);
}

bool UnitRun::createContainer() {
    std::string body = buildCreateBody(spec_, host_, names_);
    auto r = request("POST", "/containers/create");
    r.body = body;
    auto cr = client_.call(r);
    if (cr.status != 201) {
        // E.g. the image is missing: the unit's problem, reported.
        result_.error =
            "container create failed: HTTP " + std::to_string(cr.status) + " " + errorText(cr);
        return false;
    }
    containerCreated_ = true;
    return true;
}

// Straight into the volume's host directory where this process can set
// owners there, else through the archive endpoint.
void UnitRun::copyInputs() {
    if (!volumeDir_.empty() && host_.directVolumeCopies && ::geteuid() == 0)
        direct_ = copyInputsDirectly();
    if (!direct_)
        copyInputsByArchive();
}

bool UnitRun::copyInputsDirectly() {
    auto ids = idMappingOf(client_, names_.container, host_.usernsAuto);
    auto [uid, gid] = parseUser(spec_.user);
    auto root = ids ? ids->toHost({0, 0}) : std::nullopt;
    auto unit = ids ? ids->toHost({uid, gid}) : std::nullopt;
    if (!root || !unit) {
        kLog.debug("no id mapping for {}: copying through the archive endpoints", names_.container);
        return false;
    }
    inputBytes_ = writeInputs(volumeDir_, spec_.inputs, *root, *unit);
    result_.copiedDirectly = true;
    return true;
}

void UnitRun::copyInputsByArchive() {
    auto archive = inputArchive(spec_);
    inputBytes_ = archive.size();
    auto r = request("PUT", containerPath("/archive?path=/work&copyUIDGID=false"), 120s);
    r.body = std::string_view(reinterpret_cast<const char*>(archive.data()), archive.size());
    r.contentType = "application/x-tar";
    auto pr = client_.call(r);
    if (pr.status != 200)
        throw base::Failure(base::podmanErrcForStatus(pr.status), "podman: copying inputs: HTTP " +
                                                                      std::to_string(pr.status) +
                                                                      " " + errorText(pr));
}

// Before start, so that every byte the unit writes is counted. A unit that
// may be frozen may outlive its timeout by the time frozen: its stream gets
// six hours more (past that its output comes from the log file).
void UnitRun::attach() {
    const auto bound = spec_.limits.timeout + 60s + (spec_.freeze != nullptr ? 6h : 0h);
    attach_.begin(client_.socket(), names_.container, bound);
    streamOpen_ = attach_.attached(10s);
    if (!streamOpen_)
        kLog.warn("attach to {} failed; reading logs afterwards instead", names_.container);
}

bool UnitRun::start() {
    started_ = Clock::now();
    deadline_.emplace(started_, spec_.limits.timeout);
    auto sr = client_.call(request("POST", containerPath("/start")));
    if (sr.status != 204 && sr.status != 304) {
        result_.error =
            "container start failed: HTTP " + std::to_string(sr.status) + " " + errorText(sr);
        return false;
    }
    result_.started = true;
    return true;
}

// Waits for exit, bounded by the unit's timeout (kill() follows a timeout).
// Where the volume is visible to us, waits in short slices and checks
// between them that the unit does not fill the disk through /work.
// While the log stream is open the unit is running: wait on the stream,
// which costs Podman nothing. Its /wait polls the container's state
// (every 10 ms here, about 8% of a core per running unit on this
// machine), so it is asked only once the stream has ended. Should the
// stream ever outlive the unit, an inspect once a second (about 3 ms of
// the service's CPU) notices the exit all the same.
// While the worker is suspended the unit is frozen and its timeout stands
// still (UnitDeadline): the switch is looked at between slices.
void UnitRun::waitForExit() {
    lastStateCheck_ = Clock::now();
    while (killReason_.empty()) {
        followFreeze();
        auto left = deadline_->left(Clock::now());
        if (left <= 0ms) {
            killReason_ = "timeout";
            return;
        }
        if (spec_.stop.stop_requested()) {
            killReason_ = "cancelled";
            return;
        }
        if (spec_.giveBack.stop_requested()) {
            killReason_ = "given back";
            return;
        }
        // Short slices when there is something to check between them.
        auto slice = volumeDir_.empty() && !spec_.stop.stop_possible() &&
                             !spec_.giveBack.stop_possible() && spec_.freeze == nullptr
                         ? left
                         : std::min<milliseconds>(left, 250ms);
        if (streamOpen_)
            waitOnStream(slice);
        else if (waitOnPodman(slice))
            return;
    }
}

void UnitRun::waitOnStream(milliseconds slice) {
    if (attach_.ended(std::min<milliseconds>(slice, 1s))) {
        streamOpen_ = false;
        return;
    }
    checkBetweenSlices();
    if (!killReason_.empty() || Clock::now() - lastStateCheck_ < 1s)
        return;
    lastStateCheck_ = Clock::now();
    auto ir = client_.call(request("GET", containerPath("/json")));
    if (ir.status == 404)
        streamOpen_ = false;
    if (ir.status != 200)
        return;
    // A paused container is not "Running" to Podman, but it has not ended.
    const auto state = parsePodmanJson(ir.body)["State"];
    if (!state["Running"].asBool() && !state["Paused"].asBool())
        streamOpen_ = false;
}

// Names the unit's processes once, now that its container has started
// (its init pid can only be reused by another process after it ended).
void UnitRun::watchFreeze() {
    if (spec_.freeze == nullptr)
        return;
    auto ir = client_.call(request("GET", containerPath("/json")));
    pid_t init = 0;
    if (ir.status == 200)
        init = static_cast<pid_t>(parsePodmanJson(ir.body)["State"]["Pid"].asInt());
    if (init > 0)
        procs_ = std::make_shared<const UnitProcesses>(init);
    if (procs_ && !procs_->empty())
        spec_.freeze->started(procs_);
    else
        kLog.debug("no processes named for {}: its CPU time counts as the machine's",
                   names_.container);
}

void UnitRun::followFreeze() {
    if (spec_.freeze == nullptr)
        return;
    const bool wanted = spec_.freeze->frozen();
    if (thawOwed_ && !wanted) {
        retryThaw("");
        return;
    }
    if (wanted == deadline_->frozen()) {
        // Signals reach only the processes there are: while frozen, look
        // for ones that came since (forked in a pass, or sent SIGCONT).
        if (wanted && freezer_.method() == FreezeMethod::kSignals && procs_)
            stopUnit(*procs_);
        return;
    }
    if (wanted && freezeBroken_)
        return;
    const bool ok = wanted ? freezer_.pause(names_.container, procs_.get())
                           : freezer_.unpause(names_.container, procs_.get());
    if (!ok) {
        // Most likely it exited meanwhile; the wait notices that. A freeze
        // that failed is not tried again; a thaw that failed lets the
        // timeout run again and is tried again at each look.
        if (wanted)
            freezeBroken_ = true;
        else {
            deadline_->thaw(Clock::now());
            thawOwed_ = true;
        }
        return;
    }
    if (wanted) {
        deadline_->freeze(Clock::now());
        thawOwed_ = false; // frozen again on purpose: the next thaw is the usual one
    } else {
        deadline_->thaw(Clock::now());
    }
    kLog.info("{} {} ({})", wanted ? "froze" : "thawed", names_.container,
              describe(freezer_.method()));
}

// A thaw that failed earlier: the container may still be frozen.
void UnitRun::retryThaw(std::string_view why) {
    if (!freezer_.unpause(names_.container, procs_.get()))
        return;
    thawOwed_ = false;
    kLog.info("thawed {}{}{} ({})", names_.container, why.empty() ? "" : " to stop it: ", why,
              describe(freezer_.method()));
}

// A frozen unit gets no signal until it thaws: it is thawed before a kill
// or a give-back's SIGTERM.
void UnitRun::thawForEnd() {
    if (!deadline_)
        return;
    if (thawOwed_)
        return retryThaw(killReason_);
    if (!deadline_->frozen())
        return;
    if (freezer_.unpause(names_.container, procs_.get())) {
        deadline_->thaw(Clock::now());
        kLog.info("thawed {} to stop it ({})", names_.container, killReason_);
    }
}

bool UnitRun::waitOnPodman(milliseconds slice) {
    try {
        auto wr = client_.call(request("POST", containerPath(kWaitExited), slice));
        // 404 shows up transiently right at exit (while conmon's cleanup
        // runs): treat it as exited and let the inspect decide.
        if (wr.status == 404)
            return true;
        if (wr.status != 200)
            throw base::Failure(base::podmanErrcForStatus(wr.status),
                                "podman: wait: HTTP " + std::to_string(wr.status) + " " +
                                    errorText(wr));
        waitedExit_ = exitCodeOf(wr.body);
        return true;
    } catch (const TimeoutError&) {
        checkBetweenSlices();
        return false;
    }
}

void UnitRun::checkBetweenSlices() {
    if (spec_.stop.stop_requested()) {
        killReason_ = "cancelled";
        return;
    }
    if (spec_.giveBack.stop_requested()) {
        killReason_ = "given back";
        return;
    }
    if (volumeDir_.empty())
        return;
    const Limits& l = spec_.limits;
    std::uint64_t diskCap = inputBytes_ + l.maxOutputBytes + (1u << 20);
    std::uint64_t entryCap = spec_.inputs.size() + 2ull * l.maxOutputFiles + 64;
    if (auto over = volumeOverCap(volumeDir_, diskCap, entryCap))
        killReason_ = *over;
}

void UnitRun::kill() {
    if (killReason_ == "given back") {
        result_.givenBack = true;
        stopGracefully();
        return;
    }
    if (killReason_ == "timeout") {
        result_.timedOut = true;
    } else {
        result_.outputsRejected = true;
        result_.error = "killed: " + killReason_;
    }
    auto kr = client_.call(request("POST", containerPath("/kill?signal=KILL")));
    // 409, or 500 "can only kill running containers": it exited meanwhile.
    bool exited = kr.status == 409 ||
                  (kr.status == 500 && errorText(kr).find("running") != std::string::npos);
    if (kr.status != 204 && !exited)
        kLog.warn("kill {}: HTTP {} {}", names_.container, kr.status, errorText(kr));
    auto wr = client_.call(request("POST", containerPath(kWaitExited), 30s));
    if (wr.status != 200 && wr.status != 404)
        throw base::Failure(base::podmanErrcForStatus(wr.status),
                            "podman: wait after kill: HTTP " + std::to_string(wr.status));
}

// The unit may trap SIGTERM to write its checkpoint (docs/user-guide.md);
// one that does not, or takes longer than the grace, is killed. Either way
// what it left in /work/ckpt is collected.
void UnitRun::stopGracefully() {
    auto tr = client_.call(request("POST", containerPath("/kill?signal=TERM")));
    if (tr.status == 204) {
        try {
            auto wr =
                client_.call(request("POST", containerPath(kWaitExited), spec_.giveBackGrace));
            if (wr.status == 200 || wr.status == 404)
                return;
        } catch (const TimeoutError&) {
            kLog.info("{} did not exit within {} ms of SIGTERM; killing it", names_.container,
                      spec_.giveBackGrace.count());
        }
    }
    auto kr = client_.call(request("POST", containerPath("/kill?signal=KILL")));
    if (kr.status != 204 && kr.status != 409 && kr.status != 500)
        kLog.warn("kill {}: HTTP {} {}", names_.container, kr.status, errorText(kr));
    auto wr = client_.call(request("POST", containerPath(kWaitExited), 30s));
    if (wr.status != 200 && wr.status != 404)
        throw base::Failure(base::podmanErrcForStatus(wr.status),
                            "podman: wait after kill: HTTP " + std::to_string(wr.status));
}

// A clean exit, as /wait reported it, needs no inspect. Otherwise the
// inspect tells the exit code and OOMKilled.
void UnitRun::readExitCode() {
    if (killReason_.empty() && waitedExit_ == 0) {
        result_.exitCode = 0;
        return;
    }
    // Like wait, inspect can answer 404 for a moment right after exit; a
    // short bounded retry before giving up.
    HttpResponse ir;
    for (int attempt = 0; attempt < 5; ++attempt) {
        ir = client_.call(request("GET", containerPath("/json")));
        if (ir.status == 200)
            break;
        kLog.debug("inspect {}: HTTP {} {}", names_.container, ir.status, errorText(ir));
        std::this_thread::sleep_for(milliseconds(100 << attempt));
    }
    if (ir.status != 200)
        throw base::Failure(base::podmanErrcForStatus(ir.status),
                            "podman: inspect " + names_.container + ": HTTP " +
                                std::to_string(ir.status) + " " + errorText(ir));
    auto state = parsePodmanJson(ir.body)["State"];
    result_.exitCode = state["ExitCode"].asInt();
    // State.OOMKilled is not reliable (it read false for real kills on cgroup
    // v1): a SIGKILL we did not send (no timeout, no disk kill), with the
    // memory limit enforced, is the OOM killer.
    bool killedByUs = !killReason_.empty();
    bool memoryLimited = host_.cgroupLimits && host_.memoryEnforced;
    result_.oomKilled =
        state["OOMKilled"].asBool() || (!killedByUs && result_.exitCode == 137 && memoryLimited);
}

// From the attach stream (exact truncation flag), else from the log file,
// which conmon keeps bounded.
void UnitRun::readLogs() {
    attach_.join();
    if (const LogDemuxer* captured = attach_.logs()) {
        keepLogs(*captured, result_);
        return;
    }
    LogDemuxer logs(spec_.limits.maxLogBytes);
    client_.stream(request("GET", containerPath("/logs?stdout=true&stderr=true"), 60s),
                   [&](std::string_view chunk) { return logs.feed(chunk) && !logs.truncated(); });
    keepLogs(logs, result_);
}

void UnitRun::collectOutputs() {
    const Limits& l = spec_.limits;
    auto files = direct_
                     ? copyOutputs(volumeDir_, spec_.outputDir, l.maxOutputBytes, l.maxOutputFiles)
                     : outputsByArchive("out");
    if (files) {
        result_.outputs = std::move(*files);
        return;
    }
    emptyDirectory(spec_.outputDir);
    result_.outputsRejected = true;
    const auto& e = files.error();
    bool plain = !direct_ || e.code == wire::Error::Code::kNotFound;
    result_.error = plain ? e.what : "outputs refused: " + e.what;
}

// What a unit given back left in /work/ckpt, under the same caps and rules
// as outputs. None is no error; one over a cap is dropped, and the error
// says why (the unit is still given back).
void UnitRun::collectCheckpoint() {
    const Limits& l = spec_.limits;
    emptyDirectory(spec_.outputDir);
    auto files = direct_ ? copyOutputs(volumeDir_, spec_.outputDir, l.maxOutputBytes,
                                       l.maxOutputFiles, "ckpt")
                         : outputsByArchive("ckpt");
    result_.outputsRejected = false;
    result_.error.clear();
    if (files) {
        result_.outputs = std::move(*files);
        return;
    }
    emptyDirectory(spec_.outputDir);
    if (files.error().code == wire::Error::Code::kNotFound)
        return;
    const auto& why = files.error().what;
    result_.error = why.starts_with("checkpoint") ? why : "checkpoint refused: " + why;
}

// Through GET /archive?path=/work/<subdir>, capped while it streams.
std::expected<std::vector<OutputFile>, wire::Error>
UnitRun::outputsByArchive(const std::string& subdir) {
    const Limits& l = spec_.limits;
    std::uint64_t cap =
        l.maxOutputBytes + (std::uint64_t(l.maxOutputFiles) + 16) * 2048 + (1u << 20);
    std::string tarBytes;
    bool overCap = false;
    long status =
        client_.stream(request("GET", containerPath("/archive?path=/work/" + subdir), 120s),
                       [&](std::string_view chunk) {
                           if (tarBytes.size() + chunk.size() > cap) {
                               overCap = true;
                               return false;
                           }
                           tarBytes.append(chunk);
                           return true;
                       });
    using Code = wire::Error::Code;
    const std::string what = subdir == "out" ? "outputs" : "checkpoint";
    if (overCap)
        return std::unexpected(
            wire::Error(Code::kTooLarge, what + (subdir == "out" ? " exceed " : " exceeds ") +
                                             std::to_string(l.maxOutputBytes) + " bytes"));
    if (status == 404)
        return std::unexpected(wire::Error(Code::kNotFound, "the unit removed /work/" + subdir));
    if (status != 200)
        throw base::Failure(base::podmanErrcForStatus(status),
                            "podman: copying outputs: HTTP " + std::to_string(status));
    ExtractOptions opt;
    opt.stripComponent = subdir;
    opt.maxBytes = l.maxOutputBytes;
    opt.maxEntries = l.maxOutputFiles;
    auto files = extractTar(wire::asBytes(tarBytes), spec_.outputDir, opt);
    if (!files)
        return std::unexpected(
            wire::Error(files.error().code, what + " refused: " + files.error().what));
    return files;
}

// A timeout or an OOM kill in one line, unless a more specific error is set.
void UnitRun::explainFailure() {
    if (!result_.error.empty())
        return;
    if (result_.timedOut)
        result_.error = "timed out after " + std::to_string(spec_.limits.timeout.count()) + " ms";
    else if (result_.oomKilled)
        result_.error = "killed: out of memory";
}

// Never throws: it runs in the destructor, also while an exception unwinds.
void UnitRun::remove() noexcept {
    try {
        if (containerCreated_) {
            // A short bounded retry should Podman answer an error (with
            // Podman's own shm mount, removal failed once with "shm:
            // device or resource busy" right after exit; units no
            // longer have one, see buildCreateBody).
            for (int attempt = 0; attempt < 4; ++attempt) {
                auto r = client_.call(request("DELETE", containerPath("?force=true&v=true&t=0")));
                if (r.status == 200 || r.status == 204 || r.status == 404)
                    break;
                if (attempt == 3)
                    kLog.warn("removing container {}: HTTP {} {}", names_.container, r.status,
                              errorText(r));
                std::this_thread::sleep_for(milliseconds(50 << attempt));
            }
        }
        if (volumeCreated_) {
            auto r = client_.call(request("DELETE", "/volumes/" + names_.volume + "?force=true"));
            if (r.status != 204 && r.status != 404)
                kLog.warn("removing volume {}: HTTP {} {}", names_.volume, r.status, errorText(r));
        }
    } catch (const std::exception& e) {
        kLog.warn("cleanup of {} failed: {} (cleanupLeftovers removes it later)", names_.container,
                  e.what());
    }
}

std::string UnitRun::containerPath(std::string_view suffix) const {
    return "/containers/" + names_.container + std::string(suffix);
}

} // namespace swarm::sandbox

// Integration tests against real Podman. The same executable runs as root
// (meson test) and as the unprivileged `swarmtest` user
// (scripts/test-sandbox-rootless). Needs scripts/setup-podman: a missing
// Podman or test image is a failure, never a skip.
#include "base/sha256.hpp"
#include "sandbox/cpu_cap.hpp"
#include "sandbox/doctor.hpp"
#include "sandbox/image_ledger.hpp"
#include "sandbox/image_store.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_runtime.hpp"
#include "sandbox/podman_service.hpp"
#include "sandbox/probe_image.hpp"
#include "sandbox/tar_writer.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "wire/bytes.hpp"

#include <boost/test/unit_test.hpp>

#include <json/json.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

using namespace swarm;
using namespace swarm::sandbox;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kImage = "localhost/swarm-test:latest";

fs::path sourceRoot() {
    const char* s = std::getenv("SWARM_SOURCE_ROOT");
    BOOST_REQUIRE_MESSAGE(s, "SWARM_SOURCE_ROOT is not set (run through meson test)");
    return s;
}

Json::Value parse(const std::string& s) {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    if (!r->parse(s.data(), s.data() + s.size(), &v, &errs))
        throw std::runtime_error("bad json: " + errs);
    return v;
}

// One private Podman service, one doctor run, one runtime for the whole
// executable: starting them per test would cost seconds each.
struct Env {
    std::unique_ptr<PodmanService> service;
    DoctorReport doctor;
    std::unique_ptr<PodmanRuntime> runtime;
    // Always through Podman's archive endpoints, whoever runs the tests.
    std::unique_ptr<PodmanRuntime> archiveRuntime;
    std::string workerId;

    Env() {
        auto root = sourceRoot();
        ServiceOptions opt;
        opt.containersConf = findContainersConf(std::nullopt, wire::processEnv, root);
        opt.privateOnly = true;
        service = PodmanService::connect(opt, wire::processEnv);
        DoctorOptions d;
        d.seccompProfile = root / "packaging" / "seccomp.json";
        doctor = runDoctor(service->socket(), d);
        std::cerr << doctor.text();
        runtime = std::make_unique<PodmanRuntime>(service->socket(), doctor.profile);
        HostProfile viaArchive = doctor.profile;
        viaArchive.directVolumeCopies = false;
        archiveRuntime = std::make_unique<PodmanRuntime>(service->socket(), viaArchive);
        std::array<std::uint8_t, 4> b{};
        wire::randomBytes(b);
        workerId = "test-" + wire::toHex(b);
    }
};

Env& env() {
    static Env e;
    return e;
}

struct Unit {
    test::TempDir dir;
    UnitSpec spec;
    explicit Unit(std::string script, std::string id = "unit") {
        fs::create_directories(dir.path() / "out");
        spec.unitId = std::move(id);
        spec.workerId = env().workerId;
        spec.image = kImage;
        spec.command = {"/bin/sh", "-c", std::move(script)};
        spec.outputDir = dir.path() / "out";
        spec.limits.timeout = 20s;
        spec.limits.memoryBytes = 64 << 20;
        spec.limits.pids = 32;
        spec.limits.maxOutputBytes = 1 << 20;
        spec.limits.maxOutputFiles = 50;
        spec.limits.maxLogBytes = 64 << 10;
    }
    void input(const std::string& name, const std::string& content) {
        auto p = dir.path() / "inputs" / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        spec.inputs.push_back({name, p});
    }
    UnitResult run() { return runWith(*env().runtime); }
    UnitResult runWith(PodmanRuntime& runtime) {
        auto r = runtime.run(spec);
        BOOST_TEST_MESSAGE(spec.unitId << ": exit " << r.exitCode << " timedOut " << r.timedOut
                                       << " oom " << r.oomKilled << " wall " << r.wallTime.count()
                                       << "ms direct " << r.copiedDirectly << " error '" << r.error
                                       << "' stderr '" << r.stderrText.substr(0, 200) << "'");
        return r;
    }
};

// Containers or volumes (`what`) labelled with this worker id, as Podman lists them.
Json::Value labelled(const std::string& what, const std::string& workerId) {
    PodmanClient c(env().service->socket());
    std::string filter = R"({"label":["swarm.worker=)" + workerId + R"("]})";
    PodmanClient::Request req;
    req.path = "/" + what + "/json?all=true&filters=" + PodmanClient::escape(filter);
    auto r = c.call(req);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return parse(r.body);
}

std::size_t countLabelled(const std::string& what, const std::string& workerId) {
    return labelled(what, workerId).size();
}

std::vector<std::string> labelledContainerIds(const std::string& workerId) {
    std::vector<std::string> ids;
    for (const auto& container : labelled("containers", workerId))
        ids.push_back(container["Id"].asString());
    return ids;
}

// Saves `reference` through the service's API (a docker-archive) to `to`.
void exportImage(const std::string& reference, const fs::path& to) {
    PodmanClient c(env().service->socket());
    std::ofstream out(to, std::ios::binary);
    PodmanClient::Request req;
    req.path = "/images/" + PodmanClient::escape(reference) + "/get";
    auto status = c.stream(req, [&](std::string_view chunk) {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        return true;
    });
    BOOST_REQUIRE_EQUAL(status, 200);
}

wire::Digest fileDigest(const fs::path& path) {
    return wire::sha256(wire::asBytes(test::readFile(path)));
}

// Runs a shell command line (killed after 10 minutes); its exit status
// (-1 when it did not exit).
int shell(const std::string& command) {
    test::ChildProcess sh("/bin/sh", {"-c", command});
    auto st = sh.wait(std::chrono::minutes(10));
    return st && !sh.signalled() ? *st : -1;
}

// A Podman storage of the test's own, used through the podman command with
// --root: an image can be tagged kImage there without touching the
// storage the service (and everyone else's kImage) uses.
struct PrivateStore {
    test::TempDir dir;
    std::string podman() const {
        return "podman --root " + (dir.path() / "root").string() + " --runroot " +
               (dir.path() / "run").string() + " --storage-driver vfs";
    }
    ~PrivateStore() { shell(podman() + " rmi -a -f >/dev/null 2>&1"); }
};

// Whatever happens in a test that loads an image `other` shipped under
// kImage's name: removes `other` from the service's storage, and first
// puts kImage back on `original` should a broken load have moved it.
struct RemovesShipped {
    std::string original, other;
    ~RemovesShipped() {
        PodmanClient c(env().service->socket());
        ImageStore store(env().service->socket(), ImagePolicy{});
        PodmanClient::Request req;
        req.method = "POST";
        if (store.find(kImage) != original) {
            req.path = "/images/" + original + "/tag?repo=localhost%2Fswarm-test&tag=latest";
            c.call(req);
        }
        req.method = "DELETE";
        req.path = "/images/" + other + "?force=true";
        c.call(req);
    }
};

bool cgroupLimitsExpected() {
    const auto& info = env().doctor.info;
    return !(info.rootless && info.cgroupVersion == "v1");
}

} // namespace

BOOST_AUTO_TEST_SUITE(podman)

BOOST_AUTO_TEST_CASE(doctor_reports_what_holds_here) {
    const auto& d = env().doctor;
    BOOST_REQUIRE_MESSAGE(d.reachable, d.text());
    BOOST_REQUIRE_MESSAGE(d.probed,
                          "probe containers did not run (scripts/setup-podman?): " << d.text());
    BOOST_TEST(d.info.runtime == "runc");
    BOOST_TEST(d.info.rootless == (::geteuid() != 0));
    BOOST_TEST(d.isolation.network);
    BOOST_TEST(d.isolation.readOnly);
    BOOST_TEST(d.isolation.seccomp);
    BOOST_TEST(d.isolation.userns); // rootful uses userns=auto; rootless is one
    bool expected = cgroupLimitsExpected();
    BOOST_TEST(d.isolation.memory == expected);
    BOOST_TEST(d.isolation.pids == expected);
    BOOST_TEST(d.isolation.cpu == expected);
    auto text = d.text();
    if (!expected) {
        // The honest report: not enforced, and what replaces it.
        BOOST_TEST(text.find("memory:     NOT enforced") != std::string::npos);
        BOOST_TEST(text.find("RLIMIT_DATA") != std::string::npos);
        BOOST_TEST(text.find("RLIMIT_NPROC") != std::string::npos);
        BOOST_TEST(!d.profile.memoryEnforced);
    } else {
        BOOST_TEST(text.find("memory:     enforced") != std::string::npos);
    }
}

// The worker's own probe image: built from busybox-static when missing (on
// any machine, rootful or rootless), and the doctor measures with it what it
// measures with the test image.
BOOST_AUTO_TEST_CASE(the_worker_builds_its_probe_image_and_measures_with_it) {
    const auto& socket = env().service->socket();
    PodmanClient client(socket);
    const std::string path = std::string("/images/") + PodmanClient::escape(kProbeImage);
    auto exists = [&] {
        PodmanClient::Request r;
        r.path = path + "/exists";
        return client.call(r).status == 204;
    };
    PodmanClient::Request remove;
    remove.method = "DELETE";
    remove.path = path + "?force=true";
    (void)client.call(remove);
    BOOST_REQUIRE(!exists());

    auto missing = ensureProbeImage(socket, "/nonexistent/busybox");
    BOOST_REQUIRE(!missing);
    BOOST_TEST(missing.error().find("/nonexistent/busybox not found") != std::string::npos,
               missing.error());
    BOOST_TEST(!exists());

    auto built = ensureProbeImage(socket);
    BOOST_REQUIRE_MESSAGE(built, built.error());
    BOOST_TEST(exists());
    BOOST_TEST(ensureProbeImage(socket, "/nonexistent/busybox").has_value()); // present: no build

    DoctorOptions d;
    d.probeImage = kProbeImage;
    d.seccompProfile = sourceRoot() / "packaging" / "seccomp.json";
    auto report = runDoctor(socket, d);
    BOOST_REQUIRE_MESSAGE(report.probed, report.text());
    BOOST_TEST(report.problems.empty(), report.text());
    const auto& want = env().doctor.isolation;
    BOOST_TEST(report.isolation.memory == want.memory);
    BOOST_TEST(report.isolation.cpu == want.cpu);
    BOOST_TEST(report.isolation.pids == want.pids);
    BOOST_TEST(report.isolation.userns == want.userns);
    BOOST_TEST(report.isolation.seccomp == want.seccomp);
    BOOST_TEST(report.isolation.network == want.network);
    BOOST_TEST(report.isolation.readOnly == want.readOnly);
}

BOOST_AUTO_TEST_CASE(unit_reads_inputs_and_writes_outputs) {
    Unit u("cat /work/in/a.txt /work/in/nested/b.bin > /work/out/c.txt && "
           "mkdir /work/out/sub && echo hi > /work/out/sub/d.txt && "
           "echo to-stdout && echo to-stderr >&2 && id -u",
           "happy");
    u.input("a.txt", "alpha\n");
    u.input("nested/b.bin", std::string("\0\1\2beta", 7));
    auto r = u.run();
    BOOST_TEST(r.ok());
    BOOST_TEST(r.exitCode == 0);
    BOOST_TEST(r.stdoutText == "to-stdout\n65534\n");
    BOOST_TEST(r.stderrText == "to-stderr\n");
    BOOST_REQUIRE_EQUAL(r.outputs.size(), 2u);
    BOOST_TEST(r.outputs[0].path == "c.txt");
    std::string expect = "alpha\n" + std::string("\0\1\2beta", 7);
    BOOST_TEST(r.outputs[0].digest.str() == wire::sha256(wire::asBytes(expect)).str());
    BOOST_TEST(r.outputs[0].size == expect.size());
    BOOST_TEST(r.outputs[1].path == "sub/d.txt");
    std::ifstream in(u.spec.outputDir / "c.txt", std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(got == expect);
}

BOOST_AUTO_TEST_CASE(inputs_are_read_only_for_the_unit) {
    Unit u("echo x > /work/in/a.txt; echo rc=$?; echo y > /work/evil; echo rc2=$?", "ro-inputs");
    u.input("a.txt", "alpha");
    auto r = u.run();
    BOOST_TEST(r.stdoutText.find("rc=0") == std::string::npos);
    BOOST_TEST(r.stdoutText.find("rc2=0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_network_access) {
    // (busybox-static's wget crashes without a network; nc reports cleanly.)
    Unit u("ls /sys/class/net; nc -w 3 1.1.1.1 80 </dev/null && echo REACHED", "net");
    auto r = u.run();
    BOOST_TEST(r.started);
    BOOST_TEST(r.exitCode != 0);
    BOOST_TEST(r.stdoutText == "lo\n");
    BOOST_TEST(r.stdoutText.find("REACHED") == std::string::npos);
    BOOST_TEST(r.stderrText.find("Network is unreachable") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_write_to_root) {
    Unit u("touch /evil", "rootfs");
    auto r = u.run();
    BOOST_TEST(r.exitCode != 0);
    BOOST_TEST(r.stderrText.find("Read-only file system") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shared_memory_is_private_and_bounded) {
    // /dev/shm is a tmpfs of the unit's own, min(scratch, 16 MiB) = 16 MiB
    // here, not executable, in an IPC namespace that is not the host's.
    Unit u("readlink /proc/self/ns/ipc; "
           "dd if=/dev/zero of=/dev/shm/a bs=1M count=12 2>/dev/null && echo twelve-fit; "
           "dd if=/dev/zero of=/dev/shm/b bs=1M count=8 2>/dev/null || echo eight-more-refused; "
           "grep ' /dev/shm ' /proc/mounts",
           "shm");
    auto r = u.run();
    BOOST_TEST(r.exitCode == 0);
    std::error_code ec;
    auto hostIpc = std::filesystem::read_symlink("/proc/self/ns/ipc", ec).string();
    BOOST_TEST(!hostIpc.empty());
    BOOST_TEST(r.stdoutText.starts_with("ipc:["));
    BOOST_TEST(r.stdoutText.find(hostIpc) == std::string::npos);
    BOOST_TEST(r.stdoutText.find("twelve-fit") != std::string::npos);
    BOOST_TEST(r.stdoutText.find("eight-more-refused") != std::string::npos);
    BOOST_TEST(r.stdoutText.find("tmpfs") != std::string::npos);
    BOOST_TEST(r.stdoutText.find("noexec") != std::string::npos);

    // And nothing of it on the host: Podman's default mounts a tmpfs for
    // each container under its userdata/shm, whose unmount made removals
    // fail with "shm: device or resource busy". (Rootless Podman mounts in
    // its own namespace, where this process cannot look.)
    Unit running("sleep 3", "shm-host");
    auto done = std::async(std::launch::async, [&] { return running.run(); });
    std::vector<std::string> ids;
    for (int i = 0; i < 200 && ids.empty(); ++i) {
        std::this_thread::sleep_for(25ms); // bounded poll until the container exists
        ids = labelledContainerIds(env().workerId);
    }
    BOOST_REQUIRE_EQUAL(ids.size(), 1u);
    std::this_thread::sleep_for(1s); // initialised and started by now
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    std::size_t shmMounts = 0;
    while (std::getline(mounts, line))
        shmMounts += line.find(ids[0] + "/userdata/shm") != std::string::npos;
    BOOST_TEST(shmMounts == 0u);
    BOOST_TEST(done.get().exitCode == 0);
}

BOOST_AUTO_TEST_CASE(hostile_new_user_namespace) {
    Unit u("unshare -U id", "unshare");
    auto r = u.run();
    BOOST_TEST(r.exitCode != 0);
    BOOST_TEST(r.stderrText.find("Operation not permitted") != std::string::npos);
    Unit m("unshare -m true", "unshare-m");
    BOOST_TEST(m.run().exitCode != 0);
}

BOOST_AUTO_TEST_CASE(hostile_fork_bomb) {
    Unit u("b() { b | b & }; b; sleep 3; echo survived", "forkbomb");
    u.spec.limits.timeout = 3s;
    auto start = std::chrono::steady_clock::now();
    auto r = u.run();
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.started);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
    // The host still has room: a normal unit runs right after.
    Unit after("echo fine", "after-bomb");
    auto ok = after.run();
    BOOST_TEST(ok.ok());
    BOOST_TEST(ok.stdoutText == "fine\n");
}

BOOST_AUTO_TEST_CASE(hostile_memory_hog) {
    Unit u("exec dd if=/dev/zero of=/dev/null bs=256M count=1", "memhog");
    u.spec.command = {"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"};
    auto r = u.run();
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.exitCode != 0);
    if (env().doctor.isolation.memory) {
        BOOST_TEST(r.exitCode == 137);
        BOOST_TEST(r.oomKilled);
        BOOST_TEST(r.error.find("out of memory") != std::string::npos);
    } else {
        // Not enforced here (rootless cgroup v1): the doctor says so and the
        // RLIMIT_DATA fallback stops the allocation instead.
        BOOST_TEST(!env().doctor.profile.memoryEnforced);
        BOOST_TEST(!r.oomKilled);
        BOOST_TEST(r.stderrText.find("memory") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(hostile_sleep_times_out) {
    Unit u("sleep 1000", "sleeper");
    u.spec.limits.timeout = 2s;
    auto start = std::chrono::steady_clock::now();
    auto r = u.run();
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.timedOut);
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.exitCode == 137);
    BOOST_TEST(!r.oomKilled);
    BOOST_TEST((r.wallTime >= 2s));
    BOOST_TEST((took < 10s));
}

// The runtime waits on the log stream while it is open; a unit that closes
// its stdout and stderr early is still waited for until it exits.
BOOST_AUTO_TEST_CASE(unit_closing_its_output_early_is_waited_for) {
    Unit u("echo before; exec >/dev/null 2>&1; sleep 1; echo late > /work/out/x", "closes");
    auto r = u.run();
    BOOST_TEST(r.ok());
    BOOST_TEST(r.stdoutText == "before\n");
    BOOST_TEST(r.wallTime >= 1000ms);
    BOOST_REQUIRE_EQUAL(r.outputs.size(), 1u);
    BOOST_TEST(r.outputs[0].digest.str() == wire::sha256(wire::asBytes("late\n")).str());
}

BOOST_AUTO_TEST_CASE(cancelled_unit_is_killed_early) {
    Unit u("echo partial > /work/out/x; sleep 1000", "cancelled");
    u.spec.limits.timeout = 60s;
    std::stop_source cancel;
    u.spec.stop = cancel.get_token();
    std::jthread canceller([&cancel] {
        std::this_thread::sleep_for(1s);
        cancel.request_stop();
    });
    auto start = std::chrono::steady_clock::now();
    auto r = u.run();
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.started);
    BOOST_TEST(!r.ok());
    BOOST_TEST(!r.timedOut);
    BOOST_TEST(r.error == "killed: cancelled");
    BOOST_TEST(r.outputs.empty());
    BOOST_TEST((took < 20s)); // not the 60 s timeout
}

// A unit given back gets SIGTERM and its grace to write its checkpoint;
// what it left in /work/ckpt comes back instead of its outputs. Both ways
// of copying (direct and through the archive endpoints).
BOOST_AUTO_TEST_CASE(a_unit_given_back_returns_its_checkpoint) {
    for (PodmanRuntime* rt : {env().runtime.get(), env().archiveRuntime.get()}) {
        Unit u("trap 'echo 7 > /work/ckpt/count; mkdir -p /work/ckpt/d; echo s > /work/ckpt/d/s; "
               "exit 143' TERM; cat /work/in/ckpt/prev > /work/out/x; "
               "while true; do sleep 0.1; done",
               "givenback");
        u.input("ckpt/prev", "3\n");
        u.spec.limits.timeout = 60s;
        std::stop_source giveBack;
        u.spec.giveBack = giveBack.get_token();
        std::jthread giver([&giveBack] {
            std::this_thread::sleep_for(1s);
            giveBack.request_stop();
        });
        auto start = std::chrono::steady_clock::now();
        auto r = u.runWith(*rt);
        auto took = std::chrono::steady_clock::now() - start;
        BOOST_TEST(r.givenBack);
        BOOST_TEST(r.error == "");
        BOOST_REQUIRE_EQUAL(r.outputs.size(), 2u);
        BOOST_TEST(r.outputs[0].path == "count");
        BOOST_TEST(r.outputs[0].digest.str() == wire::sha256(wire::asBytes("7\n")).str());
        BOOST_TEST(r.outputs[1].path == "d/s");
        BOOST_TEST(test::readFile(u.dir.path() / "out" / "count") == "7\n");
        BOOST_TEST(!fs::exists(u.dir.path() / "out" / "x")); // outputs are not collected
        BOOST_TEST((took < 20s));
    }
}

// One that ignores SIGTERM is killed after the grace; a checkpoint over the
// output cap is not returned, and the error says why.
BOOST_AUTO_TEST_CASE(a_checkpoint_over_the_cap_is_dropped_with_a_reason) {
    Unit u("head -c 2000000 /dev/zero > /work/ckpt/big; trap '' TERM; "
           "while true; do sleep 0.1; done",
           "bigckpt");
    u.spec.limits.timeout = 60s;
    u.spec.limits.maxOutputBytes = 1 << 20;
    u.spec.giveBackGrace = 1s;
    std::stop_source giveBack;
    u.spec.giveBack = giveBack.get_token();
    std::jthread giver([&giveBack] {
        std::this_thread::sleep_for(1500ms);
        giveBack.request_stop();
    });
    auto r = u.run();
    BOOST_TEST(r.givenBack);
    BOOST_TEST(r.outputs.empty());
    BOOST_TEST(r.error.starts_with("checkpoint "), r.error);
    BOOST_TEST(r.error.find("bytes") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(hostile_log_flood_is_truncated) {
    Unit u("yes 0123456789abcdef | head -c 3000000; echo done", "logflood");
    auto r = u.run();
    BOOST_TEST(r.logsTruncated);
    BOOST_TEST(r.stdoutText.size() + r.stderrText.size() <= u.spec.limits.maxLogBytes);
}

BOOST_AUTO_TEST_CASE(hostile_output_flood_is_refused) {
    {
        Unit u("head -c 3000000 /dev/zero > /work/out/big", "bytesflood");
        auto r = u.run();
        BOOST_TEST(r.outputsRejected);
        BOOST_TEST(!r.ok());
        // Refused after exit, or killed earlier by the disk watch.
        BOOST_TEST(r.error.find("bytes") != std::string::npos);
        BOOST_TEST(fs::is_empty(u.spec.outputDir));
    }
    {
        Unit u("i=0; while [ $i -lt 200 ]; do echo $i > /work/out/f$i; i=$((i+1)); done",
               "filesflood");
        auto r = u.run();
        BOOST_TEST(r.outputsRejected);
        BOOST_TEST((r.error.find("entries") != std::string::npos ||
                    r.error.find("files in /work") != std::string::npos));
        BOOST_TEST(fs::is_empty(u.spec.outputDir));
    }
}

BOOST_AUTO_TEST_CASE(hostile_disk_filler_is_stopped_while_running) {
    Unit u("head -c 20000000 /dev/zero > /work/out/fill; sleep 30", "diskfill");
    auto start = std::chrono::steady_clock::now();
    auto r = u.run();
    BOOST_TEST(r.outputsRejected);
    BOOST_TEST(!r.timedOut);
    BOOST_TEST(!r.oomKilled); // we killed it, not the kernel
    BOOST_TEST(r.error.find("written to /work") != std::string::npos);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 15s));
    BOOST_TEST(fs::is_empty(u.spec.outputDir));
}

BOOST_AUTO_TEST_CASE(hostile_symlink_escape_in_outputs) {
    Unit u("ln -s / /work/out/root; ln -s ../../../etc /work/out/up; echo x > /work/out/ok",
           "symlinks");
    auto r = u.run();
    BOOST_TEST(r.exitCode == 0);
    BOOST_TEST(r.outputsRejected);
    BOOST_TEST(r.error.find("symlink") != std::string::npos);
    BOOST_TEST(r.outputs.empty());
    BOOST_TEST(fs::is_empty(u.spec.outputDir));
}

BOOST_AUTO_TEST_CASE(missing_image_is_reported_not_thrown) {
    Unit u("true", "noimage");
    u.spec.image = "localhost/swarm-no-such-image:latest";
    auto r = u.run();
    BOOST_TEST(!r.started);
    BOOST_TEST(!r.error.empty());
}

BOOST_AUTO_TEST_CASE(images_by_archive_and_digest) {
    ImageStore store(env().service->socket(), ImagePolicy{});
    auto id = store.find(kImage);
    BOOST_REQUIRE(id.has_value());
    BOOST_TEST(store.find("sha256:" + *id).has_value());
    BOOST_TEST(!store.find("localhost/swarm-test@sha256:" + std::string(64, '0')).has_value());
    auto missing = store.ensure("docker.io/library/nothing@sha256:" + std::string(64, '1'));
    BOOST_REQUIRE(!missing.has_value());

    // Export the test image through the API, then load it back by digest.
    test::TempDir dir;
    auto archive = dir.path() / "image.tar";
    exportImage(kImage, archive);
    auto digest = fileDigest(archive);
    wire::Digest wrong = digest;
    wrong.bytes[0] ^= 1;
    const std::string owner = "sw1" + std::string(52, 'b');
    auto bad = store.load(archive, wrong, owner);
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(int(bad.error().code) == int(wire::Error::Code::kBadSignature));
    auto loaded = store.load(archive, digest, owner);
    BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().what));
    BOOST_TEST(*loaded == *id);
    // The same image, now also under the worker's name for what `owner` shipped.
    const auto shipped = shippedImageName(owner, digest);
    BOOST_TEST(store.find(shipped).value_or("") == *id);
    PodmanClient c(env().service->socket());
    PodmanClient::Request untag;
    untag.method = "POST";
    untag.path = "/images/" + *id +
                 "/untag?repo=" + PodmanClient::escape(shipped.substr(0, shipped.rfind(':'))) +
                 "&tag=" + shipped.substr(shipped.rfind(':') + 1);
    BOOST_TEST(c.call(untag).status == 201);
    BOOST_TEST(store.find(kImage).value_or("") == *id);
}

// The anonymous memory (heap, not the page cache) of this process now, in
// bytes: what loading an image may not grow with the image's size.
std::uint64_t anonymousBytes() {
    std::istringstream in(test::readFile("/proc/self/status"));
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("RssAnon:"))
            return std::stoull(line.substr(8)) * 1024;
    return 0;
}

// A docker-archive of one image whose single layer holds `size` zero bytes;
// the layer and the archive are made in memory and freed before returning.
void writeBigImageArchive(const fs::path& to, std::size_t size) {
    TarWriter layer;
    layer.addDirectory("data", 0755);
    layer.addFile("data/zeros", wire::asBytes(std::string(size, '\0')), 0644);
    const auto layerTar = layer.finish();
    const auto diffId = wire::sha256(layerTar).str();
    const std::string config = R"({"architecture":"amd64","os":"linux","config":{},)"
                               R"("rootfs":{"type":"layers","diff_ids":[")" +
                               diffId + R"("]}})";
    const auto configName = wire::sha256(wire::asBytes(config)).str().substr(7) + ".json";
    const std::string manifest =
        R"([{"Config":")" + configName + R"(","RepoTags":[],"Layers":["layer.tar"]}])";
    std::ofstream out(to, std::ios::binary);
    TarWriter archive([&](wire::ByteView chunk) {
        out.write(reinterpret_cast<const char*>(chunk.data()),
                  static_cast<std::streamsize>(chunk.size()));
    });
    archive.addFile(configName, wire::asBytes(config), 0644);
    archive.addFile("layer.tar", layerTar, 0644);
    archive.addFile("manifest.json", wire::asBytes(manifest), 0644);
    archive.finish();
}

// A shipped image archive goes from the cache file to Podman through an
// unnamed temporary file: loading 256 MiB grows this process's anonymous
// memory by far less than that.
BOOST_AUTO_TEST_CASE(a_big_image_archive_is_loaded_without_holding_it_in_memory) {
    constexpr std::size_t kLayer = 256u << 20;
    test::TempDir dir;
    const auto archive = dir.path() / "big.tar";
    writeBigImageArchive(archive, kLayer);
    const auto digest = wire::Digest{base::hashFile(archive).digest};
    ImageStore store(env().service->socket(), ImagePolicy{});
    const std::string owner = "sw1" + std::string(52, 'c');

    const auto before = anonymousBytes();
    std::atomic<std::uint64_t> peak{before};
    std::atomic<bool> loading{true};
    std::thread sampler([&] {
        while (loading) {
            peak = std::max<std::uint64_t>(peak, anonymousBytes());
            std::this_thread::sleep_for(2ms);
        }
    });
    auto loaded = store.load(archive, digest, owner);
    loading = false;
    sampler.join();
    BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().what));
    const auto grown = peak - before;
    BOOST_TEST_MESSAGE("anonymous memory grew by " << (grown >> 20) << " MiB loading "
                                                   << (kLayer >> 20) << " MiB");
    BOOST_TEST(grown < kLayer / 8);

    PodmanClient client(env().service->socket());
    PodmanClient::Request rm;
    rm.method = "DELETE";
    rm.path = "/images/" + *loaded + "?force=true";
    (void)client.call(rm);
}

BOOST_AUTO_TEST_CASE(shipped_archive_never_moves_a_tag) {
    // Another image, tagged kImage inside the archive (as `podman save`
    // writes it, in both formats): loading it must leave kImage where it
    // is and name the new image only in the worker's namespace.
    ImageStore store(env().service->socket(), ImagePolicy{});
    const auto original = store.find(kImage);
    BOOST_REQUIRE(original.has_value());
    test::TempDir dir;
    PrivateStore own;
    const auto p = own.podman();
    exportImage(kImage, dir.path() / "original.tar");
    fs::create_directories(dir.path() / "context");
    std::ofstream(dir.path() / "context" / "marker") << "shipped\n";
    std::ofstream(dir.path() / "context" / "Containerfile")
        << "FROM " << kImage << "\nCOPY marker /shipped-marker\n";
    BOOST_REQUIRE(
        shell(p + " load -q -i " + (dir.path() / "original.tar").string() + " >/dev/null") == 0);
    BOOST_REQUIRE(shell(p + " build -q --pull=never -t " + kImage + " " +
                        (dir.path() / "context").string() + " >/dev/null") == 0);
    BOOST_REQUIRE(shell(p + " image inspect --format '{{.Id}}' " + kImage + " > " +
                        (dir.path() / "id").string()) == 0);
    auto other = test::readFile(dir.path() / "id");
    other.erase(other.find_last_not_of('\n') + 1);
    BOOST_REQUIRE(other.size() == 64u);
    BOOST_REQUIRE(other != *original);
    const std::string owner = "sw1" + std::string(52, 'a');
    for (const std::string format : {"docker-archive", "oci-archive"}) {
        BOOST_TEST_CONTEXT(format) {
            const auto archive = dir.path() / (format + ".tar");
            BOOST_REQUIRE(shell(p + " save -q --format " + format + " -o " + archive.string() +
                                " " + kImage) == 0);
            const auto digest = fileDigest(archive);
            RemovesShipped removes{*original, other};
            auto loaded = store.load(archive, digest, owner);
            BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().what));
            BOOST_TEST(*loaded == other);
            BOOST_TEST(store.find(kImage).value_or("") == *original);
            BOOST_TEST(store.find("sha256:" + other).value_or("") == other);
            BOOST_TEST(store.find(shippedImageName(owner, digest)).value_or("") == other);
            // Present, but no reference may name it.
            auto byName = store.ensure(shippedImageName(owner, digest));
            BOOST_REQUIRE(!byName.has_value());
            BOOST_TEST(int(byName.error().code) == int(wire::Error::Code::kUntrusted));
        }
    }
}

BOOST_AUTO_TEST_CASE(shipped_archive_names_in_any_spelling_are_not_applied) {
    // Go decodes JSON keys case-insensitively (even "RepoTagſ" is RepoTags
    // to Podman): an image of one marker file whose manifest.json says
    // "repotags" must still get no name of its own.
    TarWriter layer;
    layer.addFile("marker", wire::asBytes("x\n"), 0644);
    const auto layerTar = layer.finish();
    const auto config = R"({"architecture":"amd64","os":"linux","config":{},)"
                        R"("rootfs":{"type":"layers","diff_ids":[")" +
                        wire::sha256(layerTar).str() + R"("]}})";
    const auto id = wire::sha256(wire::asBytes(config)).str().substr(7);
    TarWriter archive;
    archive.addFile("layer.tar", layerTar, 0644);
    archive.addFile(id + ".json", wire::asBytes(config), 0644);
    archive.addFile("manifest.json",
                    wire::asBytes(R"([{"Config":")" + id + R"(.json","Layers":["layer.tar"],)" +
                                  R"("repotags":["localhost/swarm-test:latest"]}])"),
                    0644);
    test::TempDir dir;
    const auto path = dir.path() / "image.tar";
    const auto bytes = archive.finish();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    ImageStore store(env().service->socket(), ImagePolicy{});
    const auto original = store.find(kImage);
    BOOST_REQUIRE(original.has_value());
    RemovesShipped removes{*original, id};
    auto loaded = store.load(path, wire::sha256(bytes), "sw1" + std::string(52, 'c'));
    BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().what));
    BOOST_TEST(*loaded == id);
    BOOST_TEST(store.find(kImage).value_or("") == *original);
}

BOOST_AUTO_TEST_CASE(hostile_image_archives_are_refused_before_podman) {
    struct Case {
        std::string name;
        std::vector<std::pair<std::string, std::string>> files;
        std::string error;
    };
    const std::string manifest = R"([{"Config":"c.json","Layers":[]}])";
    const std::vector<Case> cases{
        {"no manifest", {{"c.json", "{}"}}, "neither manifest.json"},
        {"two manifests",
         {{"c.json", "{}"}, {"manifest.json", manifest}, {"manifest.json", "[]"}},
         "duplicate entry 'manifest.json'"},
        {"no config", {{"manifest.json", manifest}}, "image config 'c.json'"},
        {"not strict JSON",
         {{"c.json", "{}"}, {"manifest.json", R"([{"Config":"c.json","Config":"d"}])"}},
         "manifest.json must list exactly one image"},
        {"two images in an index",
         {{"oci-layout", "{}"}, {"index.json", R"({"manifests":[{},{}]})"}},
         "lists 2 manifests"},
    };
    ImageStore store(env().service->socket(), ImagePolicy{});
    test::TempDir dir;
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            TarWriter w;
            for (const auto& [path, content] : c.files)
                w.addFile(path, wire::asBytes(content), 0644);
            const auto bytes = w.finish();
            const auto path = dir.path() / "hostile.tar";
            std::ofstream(path, std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
            auto r = store.load(path, wire::sha256(bytes), "sw1" + std::string(52, 'd'));
            BOOST_REQUIRE(!r.has_value());
            BOOST_TEST(int(r.error().code) == int(wire::Error::Code::kMalformed));
            BOOST_TEST(r.error().what.starts_with("image archive: "), r.error().what);
            BOOST_TEST(r.error().what.find(c.error) != std::string::npos, r.error().what);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_shipped_namespace_is_reserved) {
    ImageStore store(env().service->socket(), ImagePolicy{});
    for (const std::string& ref :
         {std::string("localhost/swarm-shipped/x:y"), std::string("swarm-shipped/x:y"),
          std::string("LOCALHOST/Swarm-Shipped/x:y"),
          std::string("containers-storage:localhost/swarm-shipped/x:y"),
          std::string("containers-storage:[overlay@/a+/b]localhost/swarm-shipped/x:y"),
          "localhost/swarm-shipped/x@sha256:" + std::string(64, '0')}) {
        BOOST_TEST_CONTEXT(ref) {
            BOOST_TEST(isReservedImageName(ref));
            auto r = store.ensure(ref);
            BOOST_REQUIRE(!r.has_value());
            BOOST_TEST(int(r.error().code) == int(wire::Error::Code::kUntrusted));
            BOOST_TEST(r.error().what.find("reserved namespace") != std::string::npos);
        }
    }
    BOOST_TEST(!isReservedImageName(kImage));
    BOOST_TEST(!isReservedImageName("localhost/swarm-shipped-not/x:y"));
    BOOST_TEST(!isReservedImageName("docker.io/swarm-shipped/x:y"));
    const auto digest = wire::sha256(wire::asBytes("archive"));
    BOOST_TEST(shippedImageName("sw1abc", digest) ==
               "localhost/swarm-shipped/sw1abc:" + digest.str().substr(7, 16));
    BOOST_TEST(
        shippedImageName("-Peer/One_", digest).starts_with("localhost/swarm-shipped/peer-one:"));
    BOOST_TEST(shippedImageName("", digest).starts_with("localhost/swarm-shipped/unknown:"));
    BOOST_TEST(isReservedImageName(shippedImageName("sw1abc", digest)));
}

BOOST_AUTO_TEST_CASE(cleanup_removes_a_crashed_workers_leftovers) {
    // Simulate a crash: a labelled volume and container that nobody removed.
    std::string worker = env().workerId + "-crashed";
    test::TempDir out;
    UnitSpec spec;
    spec.unitId = "orphan";
    spec.workerId = worker;
    spec.image = kImage;
    spec.command = {"true"};
    spec.outputDir = out.path();
    auto names = containerNames(spec.unitId, "dead");
    PodmanClient c(env().service->socket());
    PodmanClient::Request v;
    v.method = "POST";
    v.path = "/volumes/create";
    std::string vb = buildVolumeBody(spec, names);
    v.body = vb;
    BOOST_REQUIRE_EQUAL(c.call(v).status, 201);
    PodmanClient::Request cr;
    cr.method = "POST";
    cr.path = "/containers/create";
    std::string cb = buildCreateBody(spec, env().runtime->host(), names);
    cr.body = cb;
    auto created = c.call(cr);
    BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
    BOOST_TEST(countLabelled("containers", worker) == 1u);
    // Another worker's live unit must survive this cleanup.
    Unit other("sleep 2; echo alive", "bystander");
    auto bystander = std::async(std::launch::async, [&] { return env().runtime->run(other.spec); });
    for (int i = 0; i < 200 && countLabelled("containers", env().workerId) == 0; ++i)
        std::this_thread::sleep_for(25ms); // bounded poll until the bystander exists
    BOOST_TEST(env().runtime->cleanupLeftovers(worker) == 2u);
    auto br = bystander.get();
    BOOST_TEST(br.ok(), br.error);
    BOOST_TEST(br.stdoutText == "alive\n");
    BOOST_TEST(countLabelled("containers", worker) == 0u);
    BOOST_TEST(countLabelled("volumes", worker) == 0u);
}

BOOST_AUTO_TEST_CASE(service_discovery_prefers_container_host) {
    std::map<std::string, std::string> vars{
        {"CONTAINER_HOST", "unix://" + env().service->socket().string()}};
    wire::EnvLookup lookup = [&](const char* name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
    auto found = PodmanService::connect(ServiceOptions{}, lookup);
    BOOST_TEST(found->origin() == "CONTAINER_HOST");
    BOOST_TEST(!found->childPid().has_value()); // found, not started: never stopped by us
    vars["CONTAINER_HOST"] = "tcp://127.0.0.1:1234";
    BOOST_CHECK_THROW(PodmanService::connect(ServiceOptions{}, lookup), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(exceptions_never_cross_curl_callbacks) {
    PodmanClient c(env().service->socket());
    PodmanClient::Request req;
    req.path = "/info";
    BOOST_CHECK_THROW(c.stream(req, [](std::string_view) -> bool { throw std::logic_error("x"); }),
                      std::logic_error);
    BOOST_TEST(c.ping(2s)); // the handle is still usable
    PodmanClient dead(env().service->socket().parent_path() / "nothing.sock");
    BOOST_TEST(!dead.ping(1s));
    BOOST_CHECK_THROW(dead.call(req), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(units_run_concurrently) {
    Unit a("echo a > /work/out/x", "par-a");
    Unit b("echo b > /work/out/x", "par-b");
    auto fa = std::async(std::launch::async, [&] { return env().runtime->run(a.spec); });
    auto fb = std::async(std::launch::async, [&] { return env().runtime->run(b.spec); });
    auto ra = fa.get();
    auto rb = fb.get();
    BOOST_TEST(ra.ok());
    BOOST_TEST(rb.ok());
    BOOST_REQUIRE_EQUAL(ra.outputs.size(), 1u);
    BOOST_REQUIRE_EQUAL(rb.outputs.size(), 1u);
    BOOST_TEST(ra.outputs[0].digest.str() == wire::sha256(wire::asBytes("a\n")).str());
    BOOST_TEST(rb.outputs[0].digest.str() == wire::sha256(wire::asBytes("b\n")).str());
}

// Root copies straight through the volume's host directory; anyone else
// (rootless Podman) through the archive endpoints. The unit sees the same
// /work either way: in/ owned by its root and read-only, out/ its own.
BOOST_AUTO_TEST_CASE(both_copy_paths_give_the_unit_the_same_work_tree) {
    const char* script = "cd /work && stat -c '%n %u:%g %a' in in/a.txt in/n in/n/b.txt out && "
                         "cat in/n/b.txt > out/c.txt";
    std::string seen[2];
    int i = 0;
    for (PodmanRuntime* rt : {env().runtime.get(), env().archiveRuntime.get()}) {
        Unit u(script, "tree");
        u.input("a.txt", "alpha");
        u.input("n/b.txt", "beta");
        auto r = u.runWith(*rt);
        BOOST_TEST(r.ok());
        BOOST_TEST(r.copiedDirectly == (rt == env().runtime.get() && ::geteuid() == 0));
        BOOST_REQUIRE_EQUAL(r.outputs.size(), 1u);
        BOOST_TEST(r.outputs[0].digest.str() == wire::sha256(wire::asBytes("beta")).str());
        seen[i++] = r.stdoutText;
    }
    BOOST_TEST(seen[0] == "in 0:0 555\nin/a.txt 0:0 444\nin/n 0:0 555\nin/n/b.txt 0:0 444\n"
                          "out 65534:65534 755\n");
    BOOST_TEST(seen[0] == seen[1]);
}

// Outputs the copy must refuse or flatten, through both paths.
BOOST_AUTO_TEST_CASE(hostile_outputs_on_both_copy_paths) {
    struct Case {
        const char* id;
        const char* script;
        const char* error; // empty: accepted
    };
    const Case cases[] = {
        {"fifo", "mkfifo /work/out/p; echo x > /work/out/ok", "fifo"},
        {"deep",
         "d=/work/out; i=0; while [ $i -lt 130 ]; do d=$d/d; mkdir $d || exit 1; i=$((i+1)); done",
         "level"},
        {"dotdot", "mkdir /work/out/a; ln -s ../.. /work/out/a/up", "symlink"},
    };
    for (PodmanRuntime* rt : {env().runtime.get(), env().archiveRuntime.get()}) {
        for (const auto& c : cases) {
            Unit u(c.script, c.id);
            u.spec.limits.maxOutputFiles = 500;
            auto r = u.runWith(*rt);
            BOOST_TEST_CONTEXT(c.id << " direct " << r.copiedDirectly) {
                BOOST_TEST(r.started);
                BOOST_TEST(r.outputsRejected);
                BOOST_TEST(r.outputs.empty());
                BOOST_TEST(fs::is_empty(u.spec.outputDir));
                BOOST_TEST(r.error.find(c.error) != std::string::npos, r.error);
            }
        }
    }
}

// Hard links and unreadable files in out/ come back as regular, readable
// files (separate copies on the direct path, links within the output
// directory on the archive path); the inputs cannot be linked into out/ (they are not the
// unit's: fs.protected_hardlinks) nor out/ replaced (/work is not the unit's).
BOOST_AUTO_TEST_CASE(hostile_links_and_modes_in_outputs) {
    for (PodmanRuntime* rt : {env().runtime.get(), env().archiveRuntime.get()}) {
        Unit u("cd /work/out && echo s > a && ln a b && chmod 000 a; "
               "ln /work/in/i.txt /work/out/i && echo LINKED; "
               "mv /work/out /work/o2 && echo MOVED; ln -s /etc /work/o3 && echo LINK; true",
               "links");
        u.input("i.txt", "input");
        auto r = u.runWith(*rt);
        BOOST_TEST_CONTEXT("direct " << r.copiedDirectly) {
            BOOST_TEST(r.ok());
            BOOST_TEST(r.stdoutText == "");
            BOOST_REQUIRE_EQUAL(r.outputs.size(), 2u);
            for (const auto& o : r.outputs) {
                BOOST_TEST(o.digest.str() == wire::sha256(wire::asBytes("s\n")).str());
                auto p = u.spec.outputDir / o.path;
                BOOST_TEST((fs::symlink_status(p).type() == fs::file_type::regular));
                BOOST_TEST(
                    ((fs::status(p).permissions() & fs::perms::owner_read) != fs::perms::none));
            }
        }
    }
}

// One cgroup holds the units and its quota caps them together: two busy
// units, each with its own quota as large as the cap (the kernel refuses a
// child quota above its parent's), together still get only the cap (25 %
// of the machine).
BOOST_AUTO_TEST_CASE(a_cpu_cap_holds_for_all_units_together) {
    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    const std::string name = "swarm-test-" + env().workerId;
    const double capCores = cappedCores(25, cores);
    auto cap = CpuCap::create("/sys/fs/cgroup", name, capCores);
    if (::geteuid() != 0 || !cgroupLimitsExpected()) {
        // Rootless: no cgroup of ours (the worker then says the cap is not
        // enforced, or lowers each unit's quota where Podman applies one).
        BOOST_TEST(!cap.has_value());
        return;
    }
    BOOST_REQUIRE_MESSAGE(cap.has_value(), (cap ? "" : cap.error()));
    HostProfile profile = env().doctor.profile;
    profile.cgroupParent = cap->parent();
    PodmanRuntime capped(env().service->socket(), profile);
    auto busy = [&](const std::string& id) {
        Unit u("while :; do :; done", id);
        u.spec.limits.cpuMillis = static_cast<std::uint32_t>(capCores * 1000);
        u.spec.limits.timeout = 4s;
        return u.runWith(capped);
    };
    auto first = std::async(std::launch::async, busy, "cpucap1");
    auto second = busy("cpucap2");
    auto r1 = first.get();
    BOOST_TEST(r1.timedOut);
    BOOST_TEST(second.timedOut);
    const auto wall = std::max(r1.wallTime, second.wallTime);
    const auto used = cap->usageNs();
    BOOST_REQUIRE(used.has_value());
    const double cpus = static_cast<double>(*used) / (static_cast<double>(wall.count()) * 1e6);
    BOOST_TEST_MESSAGE("two units, each with a quota of "
                       << capCores << " CPU, capped at " << capCores << " CPU together: used "
                       << cpus << " CPU over " << wall.count() << " ms");
    BOOST_TEST(*used > 0u); // they ran inside the capped cgroup
    BOOST_TEST(cpus < 0.8); // clearly less than one full core, though each could take the cap
    std::ifstream stat(fs::path("/sys/fs/cgroup/cpu") / name / "cpu.stat");
    std::string key;
    std::uint64_t value = 0, throttled = 0;
    while (stat >> key >> value)
        if (key == "nr_throttled")
            throttled = value;
    BOOST_TEST(throttled > 0u); // the parent's quota, not a busy machine, held them back
}

// The worker removes only the names it gave images it loaded: an old
// shipped image goes; an archive of the volunteer's own image, loaded as
// shipped, loses only its shipped name and the volunteer's image stays.
BOOST_AUTO_TEST_CASE(collecting_removes_old_loaded_images_and_never_a_foreign_one) {
    ImageStore store(env().service->socket(), ImagePolicy{});
    const auto original = store.find(kImage);
    BOOST_REQUIRE(original.has_value());
    test::TempDir dir;
    PrivateStore own;
    const auto p = own.podman();
    exportImage(kImage, dir.path() / "original.tar");
    fs::create_directories(dir.path() / "context");
    std::ofstream(dir.path() / "context" / "marker") << "collect " << env().workerId << "\n";
    std::ofstream(dir.path() / "context" / "Containerfile")
        << "FROM " << kImage << "\nCOPY marker /collect-marker\n";
    BOOST_REQUIRE(
        shell(p + " load -q -i " + (dir.path() / "original.tar").string() + " >/dev/null") == 0);
    BOOST_REQUIRE(shell(p + " build -q --pull=never -t localhost/collect:1 " +
                        (dir.path() / "context").string() + " >/dev/null") == 0);
    const auto archive = dir.path() / "shipped.tar";
    BOOST_REQUIRE(shell(p + " save -q -o " + archive.string() + " localhost/collect:1") == 0);
    const std::string owner = "sw1" + std::string(52, 'c');
    const auto digest = fileDigest(archive);
    const auto loaded = store.load(archive, digest, owner);
    BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().what));
    RemovesShipped removes{*original, *loaded};
    const auto ownDigest = fileDigest(dir.path() / "original.tar");
    const auto sameAsOwn = store.load(dir.path() / "original.tar", ownDigest, owner);
    BOOST_REQUIRE(sameAsOwn.has_value());
    BOOST_TEST(*sameAsOwn == *original); // the very image the volunteer has

    ImageLedger ledger(dir.path() / "images.tsv");
    const auto size = store.sizeOf(*loaded);
    BOOST_TEST(size > 0u);
    ledger.loaded(shippedImageName(owner, digest), *loaded, size, 0);
    ledger.loaded(shippedImageName(owner, ownDigest), *sameAsOwn, store.sizeOf(*sameAsOwn), 0);
    const std::int64_t day = 24 * 3600 * 1000;
    auto removed = ledger.collect({.maxAgeMs = day, .maxBytes = 1ull << 40}, 2 * day,
                                  [&](const std::string& name) { return store.remove(name); });
    BOOST_TEST(removed.size() == 2u);
    BOOST_TEST(ledger.images().empty());
    BOOST_TEST(!store.find("sha256:" + *loaded).has_value());                // gone for good
    BOOST_TEST(!store.find(shippedImageName(owner, ownDigest)).has_value()); // name gone
    BOOST_TEST(store.find(kImage).value_or("") == *original);                // the image stays
}

// Runs last (Boost runs cases in declaration order): nothing may be left.
BOOST_AUTO_TEST_CASE(nothing_left_behind) {
    BOOST_TEST(countLabelled("containers", env().workerId) == 0u);
    BOOST_TEST(countLabelled("volumes", env().workerId) == 0u);
    BOOST_TEST(countLabelled("containers", "doctor") == 0u);
    BOOST_TEST(countLabelled("volumes", "doctor") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

#pragma once

// A personal swarm on loopback for the end-to-end tests: one Podman
// service, a stock dhtnode as bootstrap, worker daemons and submitter runs as
// separate processes. Every process is started here, ended by its pid and
// reaped; every wait is bounded.

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::e2e {

/// A child process; started with test::logFiles() here, its stdout and
/// stderr go to files and it works in the directory of its stdout file.
using Child = test::ChildProcess;
using test::readFile;
using test::runProgram;
using test::RunResult;

/// Where a peer runs: a network namespace ("" = the test's own) and the
/// address its DHT node binds ("" = the wildcard). The defaults are the
/// loopback swarm; tests/netlab places peers in a lab's namespaces.
struct Placement {
    std::string netns;
    std::string dhtAddress = "127.0.0.1";
};

/// Where the suite's bootstrap dhtnode and submitter run.
struct SwarmOptions {
    /// dhtnode's namespace, and the address and port peers bootstrap from
    /// (port 0: a free UDP port of this namespace).
    std::string bootstrapNetns;
    std::string bootstrapHost = "127.0.0.1";
    std::uint16_t bootstrapPort = 0;
    /// Every swarm-submit (startSubmit, listWorkers) runs here and listens
    /// on `submitterListen` for workers.
    Placement submitter;
    std::string submitterListen = "127.0.0.9:0";
};

struct WorkerOptions {
    bool trustsSubmitter = true;
    bool trustedBySubmitter = true;
    bool corrupt = false; ///< swarm-worker-corrupt instead of swarm-worker
    int slots = 2;
    /// Further submitters (Swarm::addSubmitter) this worker trusts and that
    /// trust it.
    std::vector<std::string> submitters;
    /// Written to the worker's home as worker.toml when it is created.
    std::string config;
    /// Further peers (ids) on the worker's trust list: e.g. the workers a
    /// relay serves.
    std::vector<std::string> trusts;
    /// Further flags for `swarm-worker run` (e.g. --relay).
    std::vector<std::string> args;
    Placement placement;
    /// Run as this plain user (its home owned by it), with rootless Podman
    /// of its own instead of the suite's service; "" = as the test runs.
    std::string user;
};

class Swarm {
public:
    explicit Swarm(SwarmOptions options = {});
    ~Swarm();

    const std::filesystem::path& root() const { return root_.path(); }
    const std::string& submitterId() const { return submitterId_; }
    const std::filesystem::path& submitterHome() const { return submitterHome_; }

    /// Another submitter identity with a home of its own, trusting no
    /// worker yet (see WorkerOptions::submitters). Returns its peer id.
    std::string addSubmitter(const std::string& name);
    /// The peer id of a submitter made by addSubmitter.
    std::string submitterIdOf(const std::string& name) const;
    /// Puts `id` on the trust list of `submitter` (addSubmitter), or of the
    /// suite's own submitter.
    void submitterTrusts(const std::string& id, const std::string& submitter = "");

    /// Creates the worker's identity and trust (once), and starts it.
    /// Returns its peer id. Waits until its control socket answers.
    std::string startWorker(const std::string& name, WorkerOptions options = {});
    /// Creates the worker's identity and trust (once) without starting it:
    /// a submitter reads its trust list when it starts. Returns its peer id.
    std::string createWorker(const std::string& name, WorkerOptions options = {});
    /// kill -9.
    void killWorker(const std::string& name);
    /// SIGTERM and wait for a clean exit; its exit status.
    int stopWorker(const std::string& name);
    std::string workerId(const std::string& name) const;
    /// Every worker started so far, by name.
    std::vector<std::string> workerNames() const;
    /// The worker's log (its stderr, across restarts).
    std::filesystem::path workerLog(const std::string& name) const;
    /// `swarm-worker status` of a running worker.
    std::string workerStatus(const std::string& name);
    /// Runs `swarm-worker ARGS` as the worker's plain user (setpriv, which
    /// execs: the pid is the worker's) with that user's environment;
    /// as the test runs when it has none. Waits up to `timeout`.
    RunResult runWorkerCommand(const std::string& name, const std::vector<std::string>& args,
                               std::chrono::seconds timeout = std::chrono::seconds(60));
    /// `swarm-submit workers --json` from the submitter's home (stdout).
    std::string listWorkers();

    /// Starts `swarm-submit --home H --json ARGS[0] <network flags> ARGS[1..]`;
    /// stdout goes to `events`. H is the home of `submitter` (addSubmitter),
    /// or the suite's own submitter's.
    std::unique_ptr<Child> startSubmit(std::vector<std::string> args,
                                       const std::filesystem::path& events,
                                       const std::string& submitter = "");
    /// The same, placed at `at` and listening on `listen` instead of where
    /// SwarmOptions says.
    std::unique_ptr<Child> startSubmitAt(const Placement& at, const std::string& listen,
                                         std::vector<std::string> args,
                                         const std::filesystem::path& events,
                                         const std::string& submitter);
    /// Starts `swarm-submit --home H ARGS` as given: no --json and no
    /// network flags added (the test names its own bootstrap, or none).
    /// stdout goes to `out`, stderr to `out`.log; H as for startSubmit.
    std::unique_ptr<Child> startSubmitPlain(std::vector<std::string> args,
                                            const std::filesystem::path& out,
                                            const std::string& submitter = "");
    /// "host:port" of the suite's bootstrap dhtnode.
    std::string bootstrapAddress() const { return bootstrap(); }
    /// Swarm containers (running or not) labelled with this worker id.
    std::size_t containersOf(const std::string& workerId);
    /// Removes them: what a worker killed for good (never restarted, so it
    /// cannot clean up after itself) left behind.
    void removeContainersOf(const std::string& workerId);

    /// Environment every child gets on top of ours.
    const std::map<std::string, std::string>& env() const { return env_; }

    /// For peers played by the test process itself (tests/hostile): the
    /// UDP port of the bootstrap dhtnode on 127.0.0.1, the home of a worker
    /// made by createWorker/startWorker, and the home of a submitter made
    /// by addSubmitter.
    std::uint16_t dhtPort() const { return dhtPort_; }
    std::filesystem::path workerHome(const std::string& name) const;
    std::filesystem::path submitterHomeOf(const std::string& name) const;

    std::string workerBinary;
    std::string corruptBinary;
    std::string submitBinary;

private:
    /// `program args` as run in `netns`: through `ip netns exec` there.
    std::unique_ptr<Child> spawnIn(const std::string& netns, const std::string& program,
                                   std::vector<std::string> args, const std::filesystem::path& out,
                                   const std::filesystem::path& err,
                                   const std::map<std::string, std::string>& env) const;
    std::string bootstrap() const;

    struct Worker {
        std::filesystem::path home;
        std::string id;
        WorkerOptions options;
        std::unique_ptr<Child> process;
    };

    SwarmOptions options_;
    test::TempDir root_{"swarm-e2e"}; // removed after every process below has ended
    std::filesystem::path submitterHome_;
    std::string submitterId_;
    std::unique_ptr<Child> podman_;
    std::unique_ptr<Child> dhtnode_;
    std::uint16_t dhtPort_ = 0;
    std::map<std::string, std::string> env_;
    std::map<std::string, Worker> workers_;
    std::map<std::string, std::pair<std::filesystem::path, std::string>> submitters_; // home, id
};

/// Lines of a JSON-lines file whose "event" is `event`.
std::vector<std::string> eventsOf(const std::filesystem::path& file, const std::string& event);
/// The string value of `"key":"..."` in a JSON line ("" if absent).
std::string field(const std::string& line, const std::string& key);
/// Polls `done` every 100 ms until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);
/// The number after "key": in a JSON line; throws when there is none.
long long numberField(const std::string& line, const std::string& key);
/// The latest `replica-ended` event of state `given-back` in `events`,
/// waited for up to `timeout`; "" if none came.
std::string waitForGiveBack(const std::filesystem::path& events, std::chrono::milliseconds timeout);

/// Stops the named workers when it goes out of scope (also when a check
/// failed).
struct WorkerStops {
    Swarm& s;
    std::vector<std::string> names;
    ~WorkerStops() {
        for (const auto& n : names)
            s.stopWorker(n);
    }
};

} // namespace swarm::e2e

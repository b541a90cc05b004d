#include "submitter/commands.hpp"

#include "base/event_loop.hpp"
#include "cli/dht_options.hpp"
#include "cli/home_files.hpp"
#include "cli/options.hpp"
#include "cli/signal_watcher.hpp"
#include "dht/bootstrap.hpp"
#include "dht/discovery.hpp"
#include "dht/inbox.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "net/credentials.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "submitter/batch.hpp"
#include "submitter/control_socket.hpp"
#include "submitter/follow_server.hpp"
#include "submitter/job_index.hpp"
#include "submitter/job_runner.hpp"
#include "submitter/job_spec.hpp"
#include "submitter/journal.hpp"
#include "submitter/offer_book.hpp"
#include "submitter/presence.hpp"
#include "submitter/progress.hpp"
#include "submitter/reporter.hpp"
#include "submitter/submit_config.hpp"
#include "submitter/worker_session.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <thread>

namespace swarm::submitter {

namespace {

const wire::Logger kLog("submit");
// How long after a first Ctrl-C a second one cancels the units.
constexpr std::chrono::milliseconds kShutdownWindow{5000};
// How long a cancel waits for the workers' answers.
constexpr std::chrono::milliseconds kCancelGrace{5000};

/// Finds trusted workers and posts offers through the DHT.
class DhtSwarm final : public SwarmAccess {
public:
    DhtSwarm(dht::Node& node, const dht::Discovery& discovery, const wire::Identity& identity,
             const wire::Clock& clock)
        : node_(node), discovery_(discovery), identity_(identity), clock_(clock) {}
    std::vector<dht::WorkerEntry> workers() const override { return discovery_.snapshot().workers; }
    void postOffer(const wire::PeerId& worker, const wire::Offer& offer) override {
        dht::postOffer(node_, identity_, worker, offer, clock_, OfferBook::kLifetimeMs);
    }
    SwarmHealth health() const override {
        SwarmHealth h;
        h.known = true;
        h.dhtNodes = node_.knownNodes();
        h.swarm = node_.swarm();
        for (const auto& b : node_.config().bootstrap)
            h.bootstrap.push_back(b.str());
        const auto snap = discovery_.snapshot();
        for (std::size_t i = 0; i < dht::kSkipReasonCount; ++i)
            h.skipped.emplace_back(dht::reasonName(static_cast<dht::SkipReason>(i)),
                                   snap.skipped[i]);
        return h;
    }

private:
    dht::Node& node_;
    const dht::Discovery& discovery_;
    const wire::Identity& identity_;
    const wire::Clock& clock_;
};

// The listener workers dial: a hello must redeem one of the batch's offer
// tokens; each session is a WorkerSession.
std::unique_ptr<net::Listener> listenForWorkers(Batch& batch, const RunOptions& options,
                                                const net::Credentials& credentials,
                                                const wire::TrustList& trust) {
    net::ListenerConfig lc;
    lc.host = options.listenHost;
    lc.port = options.listenPort;
    return std::make_unique<net::Listener>(
        credentials, lc, net::allowList(trust),
        [&batch](const wire::PublicKey& key,
                 const wire::Hello& hello) -> std::expected<void, net::Error> {
            if (auto ok = batch.redeem(hello.token, key); !ok)
                return std::unexpected(net::Error(net::Error::Code::kUntrusted, ok.error()));
            return {};
        },
        [&batch](net::Session& session, const wire::Hello& hello) {
            WorkerSession(batch, session, hello).serve();
        });
}

dht::NodeConfig nodeConfig(const RunOptions& options) {
    dht::NodeConfig nc;
    nc.bindAddress = options.dhtAddress;
    nc.port = options.dhtPort;
    nc.bootstrap = options.bootstrap;
    nc.lanDiscovery = options.lanDiscovery;
    nc.swarm = options.swarm;
    return nc;
}

// How a run was stopped by the researcher: signals counts SIGINT/SIGTERM.
struct Stops {
    std::atomic<int> signals{0};
    std::atomic<std::int64_t> firstSignalMs{0};
    std::optional<CancelTally> cancelled; // set by runBatch
};

// The answer of the run to a request on its control socket.
std::string control(Batch& batch, std::string_view request, const ControlSocket::Answer& answer) {
    if (request.starts_with("follow "))
        return serveFollow(batch, request.substr(7), answer);
    if (request == "cancel") {
        auto tally = batch.cancel();
        if (!tally)
            return "error the job is finished: nothing to cancel";
        batch.waitForCancelAnswers(kCancelGrace);
        return "ok " + cancelMessage(*tally);
    }
    return fmt::format("error unknown request '{}'", request.substr(0, 64));
}

// After a first Ctrl-C the sessions stay up for the rest of the shutdown
// window: a second Ctrl-C (or a `cancel`) in it cancels through them.
void shutdownWindow(Batch& batch, const Stops& stops, const wire::Clock& clock) {
    const auto deadline = stops.firstSignalMs + kShutdownWindow.count();
    while (stops.signals < 2 && !batch.cancelled() && clock.nowMs() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // A second Ctrl-C, or a `cancel` that came in the window: the sessions
    // stay up until the workers answered.
    if (batch.cancelled() || (stops.signals >= 2 && batch.cancel()))
        batch.waitForCancelAnswers(kCancelGrace);
}

// The run's control socket (`cancel`); a run goes on without it (a job
// directory whose path is too long for a unix socket), saying so.
std::unique_ptr<ControlSocket> listenForControl(Batch& batch, const std::filesystem::path& dir) {
    try {
        return std::make_unique<ControlSocket>(
            dir, ::geteuid(),
            [&batch](std::string_view request, const ControlSocket::Answer& answer) {
                return control(batch, request, answer);
            });
    } catch (const std::exception& e) {
        kLog.warn("no control socket, so 'swarm-submit cancel' cannot reach this run: {}",
                  e.what());
        return nullptr;
    }
}

// The composition root of a run: the batch, the listener its workers dial,
// the DHT node it finds them through, where it can be reached (Presence),
// the clock and the timer, made here and handed to the JobRunner. Returns
// the run's exit status.
int runBatch(JobSpec job, Journal& journal, const RunOptions& options,
             const wire::Identity& identity, const wire::TrustList& trust, bool resumed,
             const std::atomic<bool>& interrupted, Stops& stops) {
    net::TlsLibrary tls;
    wire::SystemClock clock;
    Reporter reporter(options.json, options.progress);
    Batch batch(std::move(job), journal, options.jobDir, clock, reporter);
    batch.prepare();
    const auto c = batch.counts();
    reporter.emit(
        event::jobStarted(clock.nowMs(), batch.job().name, c.total, batch.job().policy, resumed));

    net::Credentials credentials(identity);
    auto listener = listenForWorkers(batch, options, credentials, trust);
    dht::Node node(nodeConfig(options));
    dht::Discovery discovery(node, trust, clock);
    discovery.start();
    DhtSwarm swarm(node, discovery, identity, clock);
    auto relayServer = cli::startRelay(options.relay, credentials, trust);
    Presence presence({options, listener->port(), node, discovery, credentials, trust, *listener,
                       identity, clock},
                      relayServer.endpoints);
    std::function<void()> keepRefreshing; // outlives the timer that runs it
    base::EventLoop timer([](std::string_view what) { kLog.error("{}", what); });
    keepRefreshing = [&] {
        try {
            presence.refresh();
        } catch (const std::exception& e) {
            kLog.error("reachability and relays: {}", e.what());
        }
        timer.postAfter(std::chrono::seconds(1), keepRefreshing);
    };
    timer.post(keepRefreshing);

    auto controlSocket = listenForControl(batch, options.jobDir);
    JobRunner runner(batch, swarm, timer, [&presence] { return presence.endpoints(); });
    runner.diagnoseInto(options.jobDir, options.warnAfterMs);
    runner.run(interrupted);
    if (interrupted && !batch.cancelled() && !batch.finished())
        shutdownWindow(batch, stops, clock);
    if (batch.cancelled())
        stops.cancelled = batch.cancel();
    timer.stop();
    presence.stop();
    listener->stop();
    reporter.finish(runner.progress());
    const int status = batch.finish();
    node.shutdown();
    return status;
}

// The options run and resume share, as given.
struct NetworkFlags {
    std::optional<std::string> listen;
    std::optional<std::string> warnAfter;
    std::vector<std::string> advertise;
    std::vector<std::string> relayVia;
    cli::DhtOptions dht;
    cli::RelayOptions relay;
};

void declareNetworkFlags(CLI::App& app, NetworkFlags& f) {
    app.add_option("--listen", f.listen,
                   "where workers dial in; port 0 is any free one; host '*' (or '::') is every "
                   "interface (default: *:0)")
        ->type_name("HOST:PORT");
    app.add_option("--advertise", f.advertise,
                   "an endpoint put into offers first; repeat for more (default: every "
                   "address this host can be reached at)")
        ->allow_extra_args(false)
        ->type_name("HOST:PORT");
    app.add_option("--relay-via", f.relayVia,
                   "keep a reservation on this relay so that workers that cannot dial in reach "
                   "this run through it; repeat for more (default: behind NAT, the relays "
                   "trusted workers announce)")
        ->allow_extra_args(false)
        ->type_name("relay:PEER-ID@HOST:PORT");
    cli::addDhtOptions(app, f.dht, {.settings = "submitter.toml"});
    cli::addRelayOptions(app, f.relay);
    app.add_option("--warn-after", f.warnAfter,
                   "warn on stderr, with the first reason 'swarm-submit why' gives, once "
                   "nothing was assigned and no result came for this long (default: 60s)")
        ->type_name("DURATION");
}

// What the flags say, before the settings file; validates nothing that
// needs the network.
RunOptions runOptions(const NetworkFlags& f, const cli::Globals& g) {
    RunOptions o;
    if (const auto& v = f.listen) {
        auto colon = v->rfind(':');
        if (colon == std::string::npos || colon == 0)
            throw cli::UsageError("--listen wants HOST:PORT, e.g. 127.0.0.1:0");
        o.listenHost = v->substr(0, colon);
        if (o.listenHost.size() > 2 && o.listenHost.front() == '[' && o.listenHost.back() == ']')
            o.listenHost = o.listenHost.substr(1, o.listenHost.size() - 2);
        try {
            auto port = std::stoul(v->substr(colon + 1));
            if (port > 65535)
                throw std::out_of_range("port");
            o.listenPort = static_cast<std::uint16_t>(port);
        } catch (const std::exception&) {
            throw cli::UsageError("--listen: bad port in '" + *v + "'");
        }
    }
    o.advertise = f.advertise;
    if (f.warnAfter) {
        auto ms = parseDurationMs(*f.warnAfter);
        if (!ms || *ms <= 0)
            throw cli::UsageError("--warn-after wants a duration like 30s or 5m, not '" +
                                  *f.warnAfter + "'");
        o.warnAfterMs = *ms;
    }
    for (const auto& r : f.relayVia) {
        auto e = net::Endpoint::parse(r);
        if (!e || e->relay.empty())
            throw cli::UsageError("--relay-via wants relay:PEER-ID@HOST:PORT, not '" + r + "'" +
                                  (e ? "" : ": " + e.error().what));
    }
    o.relayVia = f.relayVia;
    o.relay = f.relay;
    o.swarm = f.dht.swarm.value_or(o.swarm);
    o.dhtAddress = f.dht.address.value_or(o.dhtAddress);
    o.dhtPort = f.dht.port.value_or(o.dhtPort);
    o.lanDiscovery = f.dht.lan;
    o.json = g.json;
    o.progress = g.json                    ? ProgressOutput::kNone
                 : ::isatty(STDERR_FILENO) ? ProgressOutput::kTerminal
                                           : ProgressOutput::kPlain;
    return o;
}

// Adds the run to the researcher's list of jobs (`swarm-submit jobs`). A
// run goes on without it: the index is a convenience, the journal is the job.
void recordInIndex(const std::filesystem::path& home, const std::filesystem::path& dir,
                   const std::string& name, bool resumed) {
    IndexEntry entry;
    entry.timeMs = wire::SystemClock().nowMs();
    entry.kind = resumed ? "resume" : "run";
    std::error_code ec;
    entry.dir = std::filesystem::canonical(dir, ec);
    if (ec)
        entry.dir = std::filesystem::absolute(dir, ec).lexically_normal();
    if (ec) {
        kLog.warn("cannot add the job to the index: {}: {}", dir.string(), ec.message());
        return;
    }
    entry.name = name;
    JobIndex index(JobIndex::path(home));
    try {
        index.record(entry);
    } catch (const std::exception& e) {
        kLog.warn("cannot add the job to {}: {}", index.file().string(), e.what());
    }
}

int execute(JobSpec job, const std::filesystem::path& dir, const NetworkFlags& flags,
            RunOptions options, const cli::Globals& g) {
    // Everything that can be refused without the network is checked first.
    auto identity = cli::requireIdentity(g);
    auto trust = cli::requireTrust(g);
    if (trust.empty())
        throw std::runtime_error("the trust list is empty: no worker would get work (add one "
                                 "with 'swarm-submit trust add')");
    for (const auto& r : options.relayVia)
        if (auto id = wire::PeerId::parse(net::Endpoint::parse(r)->relay); !trust.contains(*id))
            throw cli::UsageError("--relay-via " + r +
                                  ": that relay is not on the trust list (add it with "
                                  "'swarm-submit trust add')");
    auto config = loadSubmitConfig(submitConfigPath(g.home));
    if (!config)
        throw std::runtime_error(config.error().what);
    if (!flags.dht.swarm && !config->swarm.empty())
        options.swarm = config->swarm;
    if (!flags.dht.address && !config->dhtAddress.empty())
        options.dhtAddress = config->dhtAddress;
    options.lanDiscovery = options.lanDiscovery || config->lanDiscovery;
    if (!dht::validSwarmName(options.swarm))
        throw cli::UsageError("swarm name '" + options.swarm +
                              "' is not valid ([a-z0-9._-], 1..64 characters)");
    auto bootstrap = dht::mergeBootstrap(flags.dht.bootstrap, config->bootstrap,
                                         wire::processEnv("SWARM_BOOTSTRAP"));
    if (!bootstrap)
        throw cli::UsageError(bootstrap.error().what);
    options.bootstrap = *bootstrap;
    options.jobDir = dir;

    bool resumed = Journal::exists(dir);
    std::optional<Journal> journal;
    if (resumed) {
        journal.emplace(Journal::open(dir));
        if (journal->specToml() != jobSpecToToml(job))
            throw std::runtime_error(dir.string() +
                                     " holds a different job; choose another --out DIR or "
                                     "'swarm-submit resume " +
                                     dir.string() + "'");
    } else {
        journal.emplace(Journal::create(dir, job));
    }

    recordInIndex(g.home, dir, job.name, resumed);

    if (resumed && journal->cancelledAt()) {
        journal->clearCancel();
        kLog.info("resuming a cancelled job");
    }

    std::atomic<bool> interrupted{false};
    Stops stops;
    cli::SignalWatcher watcher([&](int) {
        if (++stops.signals > 1)
            return;
        stops.firstSignalMs = wire::SystemClock().nowMs();
        interrupted = true;
        fmt::print(stderr,
                   "stopping: units keep running on the workers; Ctrl-C again within {} s "
                   "cancels them\n",
                   std::chrono::duration_cast<std::chrono::seconds>(kShutdownWindow).count());
    });

    int rc =
        runBatch(std::move(job), *journal, options, identity, trust, resumed, interrupted, stops);
    if (stops.cancelled)
        fmt::print(stderr, "{}; resume with 'swarm-submit resume {}'\n",
                   cancelMessage(*stops.cancelled), dir.string());
    else if (rc == 130)
        fmt::print(stderr, "interrupted: resume with 'swarm-submit resume {}'\n", dir.string());
    return rc;
}

// The flags of `run` beside the network ones, as given.
struct JobFlags {
    std::optional<std::string> job;
    std::optional<std::string> out;
    std::optional<std::string> image;
    std::optional<std::uint64_t> replicas;
    std::optional<std::uint64_t> quorum;
    std::optional<std::string> timeout;
    NetworkFlags network;
};

void declareJobFlags(CLI::App& app, JobFlags& f) {
    app.add_option("JOB.toml", f.job, "the job file (or the one-line form: --image and '--')")
        ->type_name("");
    app.add_option("--out", f.out, "the job directory (default: the job's name + .swarm)")
        ->type_name("DIR");
    app.add_option("--image", f.image, "one-line form: the image every unit runs")
        ->type_name("IMAGE");
    cli::addNumber(app, "--replicas", f.replicas,
                   "one-line form: copies of each unit on different workers (default: 2)");
    cli::addNumber(app, "--quorum", f.quorum,
                   "one-line form: matching results that validate a unit (default: 2, at most "
                   "--replicas)");
    app.add_option("--timeout", f.timeout,
                   "one-line form: time limit per unit, like 60s or 10m "
                   "(default: 10m)")
        ->type_name("T");
    declareNetworkFlags(app, f.network);
    app.footer("One-line form, every option before the '--':\n  swarm-submit run --image IMAGE "
               "[OPTIONS] -- CMD ARGS... ::: FILE...\n'{}' in CMD ARGS stands for the unit's "
               "file; one unit per FILE.");
}

// The one-line form: `--image IMG ... -- CMD ARGS ::: FILES`.
std::expected<JobSpec, wire::Error> oneLineJobFrom(const JobFlags& f,
                                                   const std::vector<std::string>& rest) {
    OneLineJob one;
    one.image = *f.image;
    if (f.replicas)
        one.replicas = static_cast<std::uint32_t>(*f.replicas);
    if (f.quorum)
        one.quorum = static_cast<std::uint32_t>(*f.quorum);
    else if (f.replicas)
        one.quorum = std::min<std::uint32_t>(one.quorum, one.replicas);
    one.timeout = f.timeout;
    bool files = false;
    for (const auto& w : rest) {
        if (w == ":::" && !files)
            files = true;
        else if (files)
            one.files.emplace_back(w);
        else
            one.command.push_back(w);
    }
    if (!files)
        throw cli::UsageError("the one-line form needs '-- CMD ARGS... ::: FILE...'");
    return oneLineJob(one);
}

int runJob(const JobFlags& f, const cli::Globals& g) {
    auto options = runOptions(f.network, g);
    std::expected<JobSpec, wire::Error> job =
        std::unexpected(wire::Error(wire::Error::Code::kInvalidArgument, "no job given"));
    if (f.image) {
        if (f.job)
            throw cli::UsageError("give either a job file or --image ... -- CMD ::: FILES");
        job = oneLineJobFrom(f, g.rest);
    } else {
        if (f.replicas || f.quorum || f.timeout)
            throw cli::UsageError("--replicas, --quorum and --timeout go with --image; a job "
                                  "file sets them itself");
        if (!f.job || !g.rest.empty())
            throw cli::UsageError("usage: run JOB.toml [--out DIR] or run --image IMG -- CMD "
                                  "::: FILES");
        job = loadJobFile(*f.job);
    }
    if (!job)
        throw std::runtime_error(job.error().what);
    std::filesystem::path dir = f.out ? *f.out : job->name + ".swarm";
    return execute(std::move(*job), dir, f.network, std::move(options), g);
}

int resumeJob(const std::string& dirName, const NetworkFlags& flags, const cli::Globals& g) {
    auto options = runOptions(flags, g);
    std::filesystem::path dir = dirName;
    if (!Journal::exists(dir))
        throw std::runtime_error("no job journal in " + dir.string());
    JobSpec job;
    {
        auto journal = Journal::open(dir, Journal::Access::kReadOnly);
        auto stored = journal.job();
        if (!stored)
            throw std::runtime_error("cannot resume " + dir.string() + ": " + stored.error().what);
        job = std::move(*stored);
    }
    return execute(std::move(job), dir, flags, std::move(options), g);
}

} // namespace

cli::Command runCommand() {
    return {"run", "run a batch: JOB.toml, or the one-line form (see run --help)",
            [](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<JobFlags>();
                declareJobFlags(app, *flags);
                return [flags](const cli::Globals& g) { return runJob(*flags, g); };
            },
            true};
}

cli::Command resumeCommand() {
    return {"resume", "continue a killed run from its journal", [](CLI::App& app) -> cli::Action {
                struct Flags {
                    std::string dir;
                    NetworkFlags network;
                };
                auto flags = std::make_shared<Flags>();
                app.add_option("DIR", flags->dir, "the job directory")->required()->type_name("");
                declareNetworkFlags(app, flags->network);
                return [flags](const cli::Globals& g) {
                    return resumeJob(flags->dir, flags->network, g);
                };
            }};
}

} // namespace swarm::submitter

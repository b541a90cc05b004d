#include "submitter/commands.hpp"

#include "base/event_loop.hpp"
#include "cli/signal_watcher.hpp"
#include "dht/bootstrap.hpp"
#include "dht/discovery.hpp"
#include "dht/inbox.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "net/credentials.hpp"
#include "net/interfaces.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "net/session.hpp"
#include "submitter/batch.hpp"
#include "submitter/endpoints.hpp"
#include "submitter/job_runner.hpp"
#include "submitter/job_spec.hpp"
#include "submitter/journal.hpp"
#include "submitter/offer_book.hpp"
#include "submitter/progress.hpp"
#include "submitter/reporter.hpp"
#include "submitter/submit_config.hpp"
#include "submitter/worker_session.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/trust_list.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <thread>

namespace swarm::submitter {

namespace {

const wire::Logger kLog("submit");

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

private:
    dht::Node& node_;
    const dht::Discovery& discovery_;
    const wire::Identity& identity_;
    const wire::Clock& clock_;
};

// The composition root of a run: the batch, the listener its workers dial,
// the DHT node it finds them through, the clock and the timer, made here
// and handed to the JobRunner. Returns the run's exit status.
int runBatch(JobSpec job, Journal& journal, const RunOptions& options,
             const wire::Identity& identity, const wire::TrustList& trust, bool resumed,
             const std::atomic<bool>& interrupted) {
    net::TlsLibrary tls;
    wire::SystemClock clock;
    Reporter reporter(options.json, options.progress);
    Batch batch(std::move(job), journal, options.jobDir, clock, reporter);
    batch.prepare();
    const auto c = batch.counts();
    reporter.emit(
        event::jobStarted(clock.nowMs(), batch.job().name, c.total, batch.job().policy, resumed));

    net::Credentials credentials(identity);
    net::ListenerConfig lc;
    lc.host = options.listenHost;
    lc.port = options.listenPort;
    net::Listener listener(
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
    dht::NodeConfig nc;
    nc.bindAddress = options.dhtAddress;
    nc.port = options.dhtPort;
    nc.bootstrap = options.bootstrap;
    nc.lanDiscovery = options.lanDiscovery;
    nc.swarm = options.swarm;
    dht::Node node(nc);
    dht::Discovery discovery(node, trust, clock);
    discovery.start();
    DhtSwarm swarm(node, discovery, identity, clock);
    EndpointSources where{.listenHost = options.listenHost,
                          .port = listener.port(),
                          .advertise = options.advertise,
                          .interfaces = net::localAddresses(),
                          .publicHosts = {},
                          .localSwarm = isLocalSwarm(options.bootstrap)};
    kLog.info("listening for workers on {}", fmt::join(offerEndpoints(where), ", "));
    auto endpoints = [&] {
        where.publicHosts = node.publicHosts();
        return offerEndpoints(where);
    };
    base::EventLoop timer([](std::string_view what) { kLog.error("{}", what); });

    JobRunner runner(batch, swarm, timer, endpoints);
    runner.run(interrupted);
    timer.stop();
    listener.stop();
    reporter.finish(runner.progress());
    const int status = batch.finish();
    node.shutdown();
    return status;
}

struct NetworkFlags {
    RunOptions options;
    std::vector<std::string> bootstrapFlags;
    bool swarmGiven = false;
    bool dhtAddressGiven = false;
};

// Takes the options shared by run and resume; validates nothing that needs
// the network.
NetworkFlags takeNetworkFlags(cli::Args& args, const cli::Globals& g) {
    NetworkFlags f;
    auto& o = f.options;
    if (auto v = args.take("listen")) {
        auto colon = v->rfind(':');
        if (colon == std::string::npos || colon == 0)
            throw cli::UsageError("--listen wants HOST:PORT, e.g. 127.0.0.1:0");
        o.listenHost = v->substr(0, colon);
        try {
            auto port = std::stoul(v->substr(colon + 1));
            if (port > 65535)
                throw std::out_of_range("port");
            o.listenPort = static_cast<std::uint16_t>(port);
        } catch (const std::exception&) {
            throw cli::UsageError("--listen: bad port in '" + *v + "'");
        }
    }
    o.advertise = args.takeAll("advertise");
    if (auto v = args.take("swarm")) {
        o.swarm = *v;
        f.swarmGiven = true;
    }
    f.bootstrapFlags = args.takeAll("bootstrap");
    if (auto v = args.take("dht-address")) {
        o.dhtAddress = *v;
        f.dhtAddressGiven = true;
    }
    if (auto v = args.takeNumber("dht-port")) {
        if (*v > 65535)
            throw cli::UsageError("--dht-port must be at most 65535");
        o.dhtPort = static_cast<std::uint16_t>(*v);
    }
    o.lanDiscovery = args.flag("lan");
    o.json = g.json;
    o.progress = !g.json && ::isatty(STDERR_FILENO);
    return f;
}

int execute(JobSpec job, const std::filesystem::path& dir, NetworkFlags flags,
            const cli::Globals& g) {
    // Everything that can be refused without the network is checked first.
    auto identity = wire::loadIdentity(wire::identityPath(g.home));
    if (!identity)
        throw std::runtime_error(identity.error().what);
    auto trust = wire::TrustList::load(wire::trustPath(g.home));
    if (!trust)
        throw std::runtime_error(trust.error().what);
    if (trust->empty())
        throw std::runtime_error("the trust list is empty: no worker would get work (add one "
                                 "with 'swarm-submit trust add')");
    auto config = loadSubmitConfig(submitConfigPath(g.home));
    if (!config)
        throw std::runtime_error(config.error().what);
    if (!flags.swarmGiven && !config->swarm.empty())
        flags.options.swarm = config->swarm;
    if (!flags.dhtAddressGiven && !config->dhtAddress.empty())
        flags.options.dhtAddress = config->dhtAddress;
    flags.options.lanDiscovery = flags.options.lanDiscovery || config->lanDiscovery;
    if (!dht::validSwarmName(flags.options.swarm))
        throw cli::UsageError("swarm name '" + flags.options.swarm +
                              "' is not valid ([a-z0-9._-], 1..64 characters)");
    auto bootstrap = dht::mergeBootstrap(flags.bootstrapFlags, config->bootstrap,
                                         wire::processEnv("SWARM_BOOTSTRAP"));
    if (!bootstrap)
        throw cli::UsageError(bootstrap.error().what);
    flags.options.bootstrap = *bootstrap;
    flags.options.jobDir = dir;

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

    std::atomic<bool> interrupted{false};
    cli::SignalWatcher watcher([&](int) { interrupted = true; });

    int rc =
        runBatch(std::move(job), *journal, flags.options, *identity, *trust, resumed, interrupted);
    if (rc == 130)
        fmt::print(stderr, "interrupted: resume with 'swarm-submit resume {}'\n", dir.string());
    return rc;
}

int runJob(cli::Args& args, const cli::Globals& g) {
    auto out = args.take("out");
    auto image = args.take("image");
    auto replicas = args.takeNumber("replicas");
    auto quorum = args.takeNumber("quorum");
    auto timeout = args.take("timeout");
    auto flags = takeNetworkFlags(args, g);
    auto words = args.positionals();
    args.finish();

    std::expected<JobSpec, wire::Error> job =
        std::unexpected(wire::Error(wire::Error::Code::kInvalidArgument, "no job given"));
    if (image) {
        if (!words.empty())
            throw cli::UsageError("give either a job file or --image ... -- CMD ::: FILES");
        OneLineJob one;
        one.image = *image;
        if (replicas)
            one.replicas = static_cast<std::uint32_t>(*replicas);
        if (quorum)
            one.quorum = static_cast<std::uint32_t>(*quorum);
        else if (replicas)
            one.quorum = std::min<std::uint32_t>(one.quorum, one.replicas);
        one.timeout = timeout;
        bool files = false;
        for (const auto& w : args.rest()) {
            if (w == ":::" && !files)
                files = true;
            else if (files)
                one.files.emplace_back(w);
            else
                one.command.push_back(w);
        }
        if (!files)
            throw cli::UsageError("the one-line form needs '-- CMD ARGS... ::: FILE...'");
        job = oneLineJob(one);
    } else {
        if (replicas || quorum || timeout)
            throw cli::UsageError("--replicas, --quorum and --timeout go with --image; a job "
                                  "file sets them itself");
        if (words.size() != 1)
            throw cli::UsageError("usage: run JOB.toml [--out DIR] or run --image IMG -- CMD "
                                  "::: FILES");
        job = loadJobFile(words[0]);
    }
    if (!job)
        throw std::runtime_error(job.error().what);
    std::filesystem::path dir = out ? *out : job->name + ".swarm";
    return execute(std::move(*job), dir, std::move(flags), g);
}

int resumeJob(cli::Args& args, const cli::Globals& g) {
    auto flags = takeNetworkFlags(args, g);
    auto words = args.positionals();
    args.finish();
    if (words.size() != 1)
        throw cli::UsageError("usage: resume DIR");
    std::filesystem::path dir = words[0];
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
    return execute(std::move(job), dir, std::move(flags), g);
}

int jobStatus(cli::Args& args, const cli::Globals&) {
    auto words = args.positionals();
    args.finish();
    if (words.size() != 1)
        throw cli::UsageError("usage: status DIR");
    auto journal = Journal::open(words[0], Journal::Access::kReadOnly);
    auto job = journal.job();
    std::string name = job ? job->name : "job";
    fmt::print("{}", statusReport(name, journal.load()));
    return 0;
}
} // namespace

cli::Command runCommand() {
    return {"run",
            "run JOB.toml | --image IMG [--replicas R] [--quorum Q] [--timeout T] -- CMD ::: "
            "FILE...  [--out DIR] [--listen H:P] [--bootstrap H:P ...] [--json]   run a batch",
            runJob};
}

cli::Command resumeCommand() {
    return {"resume", "resume DIR [--listen H:P] [--bootstrap H:P ...]   continue a killed run",
            resumeJob};
}

cli::Command statusCommand() {
    return {"status", "status DIR               what a job's journal says", jobStatus};
}

} // namespace swarm::submitter

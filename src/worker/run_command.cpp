#include "worker/commands.hpp"

#include "cli/signal_watcher.hpp"
#include "dht/announcer.hpp"
#include "dht/bootstrap.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "net/credentials.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/podman_client.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/trust_list.hpp"
#include "worker/control_server.hpp"
#include "worker/image_source.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/worker.hpp"

#include <fmt/format.h>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");

double parseCpus(const std::string& text) {
    try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used == text.size() && v > 0 && v <= 1024)
            return v;
    } catch (const std::exception&) {
    }
    throw cli::UsageError("--cpus wants a number of CPUs per slot, like 1 or 0.5");
}

std::uint64_t parseMemory(const std::string& text) {
    std::uint64_t mult = 1;
    std::string digits = text;
    if (!digits.empty()) {
        switch (digits.back()) {
        case 'K':
            mult = 1ull << 10;
            break;
        case 'M':
            mult = 1ull << 20;
            break;
        case 'G':
            mult = 1ull << 30;
            break;
        default:
            break;
        }
        if (mult != 1)
            digits.pop_back();
    }
    try {
        std::size_t used = 0;
        auto v = std::stoull(digits, &used);
        if (used == digits.size() && v > 0)
            return v * mult;
    } catch (const std::exception&) {
    }
    throw cli::UsageError("--memory wants a size per slot, like 512M or 2G");
}

// worker.toml (or --config), then the flags over it. The --bootstrap flags
// are returned apart: they merge with the file's and the environment's.
WorkerConfig readConfig(cli::Args& args, const cli::Globals& g,
                        std::vector<std::string>& bootstrapFlags) {
    WorkerConfig cfg;
    auto configPath = args.take("config");
    if (!configPath && std::filesystem::exists(g.home / "worker.toml"))
        configPath = (g.home / "worker.toml").string();
    if (configPath) {
        auto loaded = loadWorkerConfig(*configPath, cfg);
        if (!loaded)
            throw std::runtime_error(loaded.error().what);
        cfg = *loaded;
    }
    if (auto v = args.take("swarm"))
        cfg.swarm = *v;
    bootstrapFlags = args.takeAll("bootstrap");
    if (auto v = args.take("dht-address"))
        cfg.dhtAddress = *v;
    if (auto v = args.takeNumber("dht-port")) {
        if (*v > 65535)
            throw cli::UsageError("--dht-port must be at most 65535");
        cfg.dhtPort = static_cast<std::uint16_t>(*v);
    }
    if (auto v = args.takeNumber("slots")) {
        if (*v == 0 || *v > 1024)
            throw cli::UsageError("--slots must be from 1 to 1024");
        cfg.slots = static_cast<std::uint32_t>(*v);
    }
    if (auto v = args.take("cpus"))
        cfg.cpusPerSlot = parseCpus(*v);
    if (auto v = args.take("memory"))
        cfg.memoryPerSlot = parseMemory(*v);
    if (args.flag("lan"))
        cfg.lanDiscovery = true;
    args.finish();
    if (!dht::validSwarmName(cfg.swarm))
        throw cli::UsageError("swarm name '" + cfg.swarm +
                              "' is not valid ([a-z0-9._-], 1..64 characters)");

    return cfg;
}

// Pulls only what the volunteer allows, by digest.
sandbox::ImagePolicy imagePolicy(const WorkerConfig& cfg) {
    sandbox::ImagePolicy policy;
    if (cfg.pullImages)
        for (const auto& p : cfg.allowedImages)
            policy.allowPull.push_back(p.ends_with('*') ? p.substr(0, p.size() - 1) : p);
    return policy;
}

int runWorker(cli::Args& args, const cli::Globals& g, const RuntimeWrapper& wrap) {
    // Before any thread (OpenDHT, sessions, Podman) exists.
    std::atomic<Worker*> target{nullptr};
    std::atomic<bool> signalled{false};
    cli::SignalWatcher watcher([&](int sig) {
        kLog.info("got signal {}: stopping", sig);
        signalled = true;
        if (Worker* w = target.load())
            w->requestStop();
    });

    std::vector<std::string> bootstrapFlags;
    WorkerConfig cfg = readConfig(args, g, bootstrapFlags);
    auto bootstrap =
        dht::mergeBootstrap(bootstrapFlags, cfg.bootstrap, wire::processEnv("SWARM_BOOTSTRAP"));
    if (!bootstrap)
        throw cli::UsageError(bootstrap.error().what);

    auto identity = wire::loadIdentity(wire::identityPath(g.home));
    if (!identity)
        throw std::runtime_error(identity.error().what);
    auto trust = wire::TrustList::load(wire::trustPath(g.home));
    if (!trust)
        throw std::runtime_error(trust.error().what);
    if (trust->empty())
        kLog.warn("the trust list is empty: no submitter's work will be accepted "
                  "(add one with 'swarm-worker trust add')");
    if (auto ok = checkShares(cfg, *trust); !ok)
        throw std::runtime_error(ok.error().what);

    sandbox::CurlGlobal curl; // before any thread uses libcurl
    net::TlsLibrary tls;
    net::Credentials credentials(*identity);
    // The DHT node and the lookup of the workers key start before the
    // sandbox checks (Podman probes, seconds): by the time the worker
    // announces, its node knows where the record goes and the put is one
    // hop (docs/discovery.md, "First announcement").
    dht::NodeConfig nodeConfig;
    nodeConfig.bindAddress = cfg.dhtAddress;
    nodeConfig.port = cfg.dhtPort;
    nodeConfig.bootstrap = *bootstrap;
    nodeConfig.lanDiscovery = cfg.lanDiscovery;
    nodeConfig.swarm = cfg.swarm;
    dht::Node node(nodeConfig);
    kLog.info("DHT node on {}", node.endpoint());
    dht::Announcer::prepare(node, [](bool ok) {
        if (!ok)
            kLog.info("lookup of the workers key found no node yet; the first announcement "
                      "looks them up itself");
    });

    auto sandbox = setUpSandbox();
    for (const auto& f : sandbox.report.fallbacks)
        kLog.warn("isolation: {}", f);
    sandbox::ContainerRuntime* runtime = sandbox.runtime.get();
    std::unique_ptr<sandbox::ContainerRuntime> wrapped;
    if (wrap) {
        wrapped = wrap(*runtime);
        runtime = wrapped.get();
    }

    PodmanImages images(sandbox.service->socket(), imagePolicy(cfg));
    wire::SystemClock clock;
    Worker worker(cfg, WorkerDeps{
                           .identity = *identity,
                           .trust = *trust,
                           .runtime = *runtime,
                           .credentials = credentials,
                           .node = node,
                           .clock = clock,
                           .home = g.home,
                           .images = images,
                           .isolation = sandbox.report.isolation,
                           .podmanVersion = sandbox.report.info.version,
                           .rootless = sandbox.report.info.rootless,
                       });
    ControlServer control(controlSocketPath(g.home), [&worker] { return worker.status().json(); });
    target = &worker;
    if (signalled)
        worker.requestStop();
    struct Untarget {
        std::atomic<Worker*>& t;
        ~Untarget() { t = nullptr; }
    } untarget{target};
    fmt::print("swarm-worker {} serving swarm '{}' (DHT {}); status: swarm-worker --home {} "
               "status\n",
               wire::PeerId(identity->publicKey()).str(), cfg.swarm, node.endpoint(),
               g.home.string());
    std::fflush(stdout);
    worker.run();
    node.shutdown();
    return 0;
}

int runStatus(cli::Args& args, const cli::Globals& g) {
    args.finish();
    auto reply = queryStatus(controlSocketPath(g.home));
    if (g.json) {
        fmt::print("{}\n", reply);
        return 0;
    }
    fmt::print("{}\n", reply);
    return 0;
}
} // namespace

cli::Command runCommand(RuntimeWrapper wrap) {
    return {"run",
            "run [--swarm S] [--bootstrap H:P ...] [--dht-address A] [--dht-port P] [--slots N] "
            "[--cpus X] [--memory SIZE] [--config FILE] [--lan]   serve trusted submitters",
            [wrap](cli::Args& args, const cli::Globals& g) { return runWorker(args, g, wrap); }};
}

cli::Command statusCommand() {
    return {"status", "status [--json]          ask the running daemon what it is doing",
            runStatus};
}

} // namespace swarm::worker

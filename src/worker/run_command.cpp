#include "worker/commands.hpp"

#include "cli/dht_options.hpp"
#include "cli/home_files.hpp"
#include "cli/options.hpp"
#include "cli/relay_options.hpp"
#include "cli/signal_watcher.hpp"
#include "dht/announcer.hpp"
#include "dht/bootstrap.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "net/credentials.hpp"
#include "net/reachability.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/image_ledger.hpp"
#include "sandbox/podman_client.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/log.hpp"
#include "wire/trust_list.hpp"
#include "worker/control_commands.hpp"
#include "worker/control_server.hpp"
#include "worker/cpu_limit.hpp"
#include "worker/image_source.hpp"
#include "worker/ledger_images.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/worker.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <csignal>
#include <memory>
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

// The flags of `run`, as given; applied over the config file by readConfig.
struct RunFlags {
    std::optional<std::string> config;
    cli::DhtOptions dht;
    cli::RelayOptions relay;
    std::optional<std::uint64_t> slots;
    std::optional<std::string> cpus;
    std::optional<std::string> memory;
};

void declareRunFlags(CLI::App& app, RunFlags& f) {
    app.add_option("--config", f.config, "the config file (default: worker.toml in the swarm home)")
        ->type_name("FILE");
    cli::addDhtOptions(app, f.dht, {.settings = "the config file"});
    cli::addNumber(app, "--slots", f.slots, "units at once, 1 to 1024 (default: one per core)");
    app.add_option("--cpus", f.cpus, "CPU quota per unit, like 1 or 0.5 (default: 1)")
        ->type_name("X");
    app.add_option("--memory", f.memory,
                   "memory per unit, like 512M or 2G; jobs asking for more are refused "
                   "(default: 512M)")
        ->type_name("SIZE");
    cli::addRelayOptions(app, f.relay);
}

// worker.toml (or --config), then the flags over it. The --bootstrap flags
// are left apart: they merge with the file's and the environment's.
WorkerConfig readConfig(const RunFlags& f, const cli::Globals& g) {
    WorkerConfig cfg;
    auto configPath = f.config;
    if (!configPath && std::filesystem::exists(g.home / "worker.toml"))
        configPath = (g.home / "worker.toml").string();
    if (configPath) {
        auto loaded = loadWorkerConfig(*configPath, cfg);
        if (!loaded)
            throw std::runtime_error(loaded.error().what);
        cfg = *loaded;
    }
    cfg.swarm = f.dht.swarm.value_or(cfg.swarm);
    cfg.dhtAddress = f.dht.address.value_or(cfg.dhtAddress);
    cfg.dhtPort = f.dht.port.value_or(cfg.dhtPort);
    if (f.slots) {
        if (*f.slots == 0 || *f.slots > 1024)
            throw cli::UsageError("--slots must be from 1 to 1024");
        cfg.slots = static_cast<std::uint32_t>(*f.slots);
    }
    if (f.cpus)
        cfg.cpusPerSlot = parseCpus(*f.cpus);
    if (f.memory)
        cfg.memoryPerSlot = parseMemory(*f.memory);
    if (f.dht.lan)
        cfg.lanDiscovery = true;
    if (!dht::validSwarmName(cfg.swarm))
        throw cli::UsageError("swarm name '" + cfg.swarm +
                              "' is not valid ([a-z0-9._-], 1..64 characters)");

    return cfg;
}

// Every bootstrap node on this host: a personal swarm on one machine.
bool localSwarm(const std::vector<dht::HostPort>& bootstrap) {
    std::vector<std::string> hosts;
    for (const auto& b : bootstrap)
        hosts.push_back(b.host);
    return net::isLocalSwarm(hosts);
}

// Pulls only what the volunteer allows, by digest.
sandbox::ImagePolicy imagePolicy(const WorkerConfig& cfg) {
    sandbox::ImagePolicy policy;
    if (cfg.pullImages)
        for (const auto& p : cfg.allowedImages)
            policy.allowPull.push_back(p.ends_with('*') ? p.substr(0, p.size() - 1) : p);
    return policy;
}

dht::NodeConfig nodeConfigOf(const WorkerConfig& cfg, std::vector<dht::HostPort> bootstrap) {
    dht::NodeConfig c;
    c.bindAddress = cfg.dhtAddress;
    c.port = cfg.dhtPort;
    c.bootstrap = std::move(bootstrap);
    c.lanDiscovery = cfg.lanDiscovery;
    c.swarm = cfg.swarm;
    return c;
}

// What the doctor found wrong, and what stands in for a missing limit;
// the wall-clock timeout always holds, so it is no warning.
void logIsolation(const sandbox::DoctorReport& report) {
    for (const auto& p : report.problems)
        kLog.warn("isolation: {}", p);
    for (const auto& f : report.fallbacks)
        if (f.starts_with("time:"))
            kLog.info("isolation: {}", f);
        else
            kLog.warn("isolation: {}", f);
}

// The volunteer's CPU cap, applied and said; its cgroup, if it has one,
// lives as long as the result.
CpuLimit capCpu(WorkerConfig& cfg, SandboxSetup& sandbox, const wire::PeerId& self) {
    auto limit = applyCpuLimit(cfg, sandbox, "swarm-" + self.str().substr(0, 16),
                               std::max(1u, std::thread::hardware_concurrency()));
    if (!limit.how.empty()) {
        if (limit.enforced)
            kLog.info("{}", limit.how);
        else
            kLog.warn("{}", limit.how);
    }
    return limit;
}

// Runs the worker until it stops, with its control socket, and with the
// signal handler's `target` pointing at it meanwhile (a signal that came
// before it was set stops it at once). `banner` goes to stdout once the
// control socket answers.
void serve(Worker& worker, const std::filesystem::path& home, std::atomic<Worker*>& target,
           const std::atomic<bool>& signalled, const std::string& banner) {
    ControlServer control(controlSocketPath(home), [&worker](const ControlRequest& request) {
        return answerControl(worker, request);
    });
    target = &worker;
    if (signalled)
        worker.requestStop();
    struct Untarget {
        std::atomic<Worker*>& t;
        ~Untarget() { t = nullptr; }
    } untarget{target};
    std::fputs(banner.c_str(), stdout);
    std::fflush(stdout);
    worker.run();
}

int runWorker(const RunFlags& flags, const cli::Globals& g, const RuntimeWrapper& wrap) {
    // Before any thread (OpenDHT, sessions, Podman) exists.
    std::atomic<Worker*> target{nullptr};
    std::atomic<bool> signalled{false};
    cli::SignalWatcher watcher([&](int sig) {
        kLog.info("got signal {}: stopping", sig);
        signalled = true;
        if (Worker* w = target.load())
            w->requestStop();
    });

    WorkerConfig cfg = readConfig(flags, g);
    auto bootstrap = dht::mergeBootstrap(flags.dht.bootstrap, cfg.bootstrap,
                                         wire::processEnv("SWARM_BOOTSTRAP"));
    if (!bootstrap)
        throw cli::UsageError(bootstrap.error().what);

    auto identity = cli::requireIdentity(g);
    auto trust = cli::requireTrust(g);
    if (trust.empty())
        kLog.warn("the trust list is empty: no submitter's work will be accepted "
                  "(add one with 'swarm-worker trust add')");
    if (auto ok = checkShares(cfg, trust); !ok)
        throw std::runtime_error(ok.error().what);

    sandbox::CurlGlobal curl; // before any thread uses libcurl
    net::TlsLibrary tls;
    net::Credentials credentials(identity);
    // The DHT node and the lookup of the workers key start before the
    // sandbox checks (Podman probes, seconds): by the time the worker
    // announces, its node knows where the record goes and the put is one
    // hop (docs/discovery.md, "First announcement").
    dht::Node node(nodeConfigOf(cfg, *bootstrap));
    kLog.info("DHT node on {}", node.endpoint());
    dht::Announcer::prepare(node, [](bool ok) {
        if (!ok)
            kLog.info("lookup of the workers key found no node yet; the first announcement "
                      "looks them up itself");
    });

    auto sandbox = setUpSandbox();
    logIsolation(sandbox.report);
    if (cfg.slots == 0)
        cfg.slots = std::max(1u, std::thread::hardware_concurrency());
    const auto cpuLimit = capCpu(cfg, sandbox, wire::PeerId(identity.publicKey()));
    sandbox::ContainerRuntime* runtime = sandbox.runtime.get();
    std::unique_ptr<sandbox::ContainerRuntime> wrapped;
    if (wrap) {
        wrapped = wrap(*runtime);
        runtime = wrapped.get();
    }

    PodmanImages podmanImages(sandbox.service->socket(), imagePolicy(cfg));
    wire::SystemClock clock;
    // Images loaded from shipped archives are recorded, to be removed again
    // under the `[disk]` limits; no other image is ever removed.
    sandbox::ImageLedger ledger(keptImagesPath(g.home));
    const auto socket = sandbox.service->socket();
    LedgerImages images(podmanImages, ledger, clock, [socket](const std::string& id) {
        return sandbox::ImageStore(socket, {}).sizeOf(id);
    });
    auto relay = cli::startRelay(flags.relay, credentials, trust);
    Worker worker(cfg, WorkerDeps{
                           .identity = identity,
                           .trust = trust,
                           .runtime = *runtime,
                           .credentials = credentials,
                           .node = node,
                           .clock = clock,
                           .home = g.home,
                           .images = images,
                           .isolation = sandbox.report.isolation,
                           .podmanVersion = sandbox.report.info.version,
                           .rootless = sandbox.report.info.rootless,
                           .relays = relay.endpoints,
                           .localSwarm = localSwarm(*bootstrap),
                           .imageLedger = &ledger,
                           .removeImage =
                               [socket](const std::string& name) {
                                   return sandbox::ImageStore(socket, {}).remove(name);
                               },
                       });
    kLog.info("suspending freezes units by {}", sandbox::describe(runtime->freezeMethod()));
    serve(worker, g.home, target, signalled,
          fmt::format("swarm-worker {} serving swarm '{}' (DHT {}); status: swarm-worker --home "
                      "{} status\n",
                      wire::PeerId(identity.publicKey()).str(), cfg.swarm, node.endpoint(),
                      g.home.string()));
    node.shutdown();
    return 0;
}

int runStatus(const cli::Globals& g) {
    auto reply = queryStatus(controlSocketPath(g.home), g.json);
    fmt::print("{}\n", reply);
    return 0;
}
} // namespace

cli::Command runCommand(RuntimeWrapper wrap) {
    return {"run", "serve trusted submitters (the daemon)", [wrap](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<RunFlags>();
                declareRunFlags(app, *flags);
                return [flags, wrap](const cli::Globals& g) { return runWorker(*flags, g, wrap); };
            }};
}

cli::Command statusCommand() {
    return {"status", "ask the running daemon what it is doing (a table; --json: one JSON object)",
            [](CLI::App&) -> cli::Action { return runStatus; }};
}

} // namespace swarm::worker

#include "submitter/workers_command.hpp"

#include "base/json_writer.hpp"
#include "cli/dht_options.hpp"
#include "cli/options.hpp"
#include "dht/bootstrap.hpp"
#include "dht/discovery.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "submitter/submit_config.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/isolation_json.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace swarm::submitter {

namespace {

constexpr std::uint64_t kDefaultTimeoutSeconds = 10;

std::string humanBytes(std::uint64_t n) {
    if (n >= (1ULL << 30))
        return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1ULL << 30));
    if (n >= (1ULL << 20))
        return fmt::format("{:.0f} MiB", static_cast<double>(n) / (1ULL << 20));
    return fmt::format("{} B", n);
}

std::string humanAge(std::int64_t ms) {
    if (ms < 0)
        ms = 0;
    if (ms < 120'000)
        return fmt::format("{}s", ms / 1000);
    return fmt::format("{}m", ms / 60'000);
}

// Text from peers goes to a terminal: keep it printable.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s)
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return out;
}

} // namespace

std::string workersTable(std::string_view swarm, const dht::DiscoverySnapshot& snap,
                         std::size_t trustedTotal, std::int64_t elapsedMs) {
    std::string out =
        fmt::format("swarm '{}': {} of {} allow-listed workers found in {:.1f} s\n", swarm,
                    snap.workers.size(), trustedTotal, static_cast<double>(elapsedMs) / 1000.0);
    if (!snap.workers.empty()) {
        out += fmt::format("{:<14} {:<12} {:>5} {:>10} {:>7} {:<8} {:<8} {:<8} {:<10} {:>5}\n",
                           "PEER", "NAME", "CORES", "MEMORY", "SLOTS", "ARCH", "PODMAN", "ROOTLESS",
                           "REACH", "AGE");
        for (const auto& w : snap.workers) {
            const auto& r = w.record;
            out +=
                fmt::format("{:<14} {:<12} {:>5} {:>10} {:>7} {:<8} {:<8} {:<8} {:<10} {:>5}\n",
                            w.id.shortStr() + "..", printable(w.name.empty() ? "-" : w.name),
                            r.cores, humanBytes(r.memoryBytes),
                            fmt::format("{}/{}", r.freeSlots, r.slots), printable(r.arch),
                            printable(r.podman.empty() ? "-" : r.podman), r.rootless ? "yes" : "no",
                            r.reach.empty() ? "-" : r.reach, humanAge(snap.ageMs(w)));
            for (const auto& relay : r.relays)
                out += fmt::format("{:<14} relays at {}\n", "", printable(relay));
        }
    }
    std::string skipped;
    for (std::size_t i = 0; i < dht::kSkipReasonCount; ++i)
        if (snap.skipped[i] > 0)
            skipped += fmt::format("{}{} {}", skipped.empty() ? "" : ", ", snap.skipped[i],
                                   dht::reasonName(static_cast<dht::SkipReason>(i)));
    out += fmt::format("skipped: {}\n", skipped.empty() ? "none" : skipped);
    return out;
}

std::string workersJson(std::string_view swarm, const dht::DiscoverySnapshot& snap,
                        std::size_t trustedTotal, std::int64_t elapsedMs, bool complete) {
    base::JsonArray workers;
    for (const auto& w : snap.workers) {
        const auto& r = w.record;
        workers.add(base::JsonObject()
                        .add("id", w.id.str())
                        .add("name", w.name)
                        .add("cores", r.cores)
                        .add("memory_bytes", r.memoryBytes)
                        .add("slots", r.slots)
                        .add("free_slots", r.freeSlots)
                        .add("arch", r.arch)
                        .add("os", r.os)
                        .add("labels", r.labels)
                        .add("podman", r.podman)
                        .add("rootless", r.rootless)
                        .add("isolation", wire::isolationJson(r.isolation))
                        .add("software", r.software)
                        .add("reach", r.reach)
                        .add("relays", r.relays)
                        .add("sequence", r.sequence)
                        .add("issued_at_ms", w.issuedAtMs)
                        .add("expires_at_ms", w.expiresAtMs)
                        .add("age_ms", snap.ageMs(w)));
    }
    base::JsonObject skipped;
    for (std::size_t i = 0; i < dht::kSkipReasonCount; ++i)
        skipped.add(dht::reasonName(static_cast<dht::SkipReason>(i)), snap.skipped[i]);
    return base::JsonObject()
        .add("swarm", swarm)
        .add("elapsed_ms", elapsedMs)
        .add("complete", complete)
        .add("allow_listed", trustedTotal)
        .add("found", snap.workers.size())
        .add("workers", workers)
        .add("skipped", skipped)
        .add("skipped_total", snap.skippedTotal())
        .add("values_seen", snap.distinctValues)
        .str();
}

namespace {

// The flags of `workers`, as given.
struct WorkersFlags {
    cli::DhtOptions dht;
    std::uint64_t timeoutS = kDefaultTimeoutSeconds;
};

void declareWorkersFlags(CLI::App& app, WorkersFlags& f) {
    cli::addDhtOptions(app, f.dht,
                       {.address = "--bind", .port = "--port", .settings = "submitter.toml"});
    cli::addNumber(app, "--timeout", f.timeoutS,
                   "give up after this many seconds, 1 to 3600 (sooner once every allow-listed "
                   "worker is found)")
        ->type_name("SECONDS");
}

// The node settings the flags and submitter.toml give; UsageError if they
// are wrong.
dht::NodeConfig nodeConfig(const WorkersFlags& f, const SubmitConfig& config) {
    dht::NodeConfig cfg;
    cfg.swarm =
        f.dht.swarm.value_or(config.swarm.empty() ? std::string(dht::kDefaultSwarm) : config.swarm);
    cfg.bindAddress = f.dht.address.value_or(config.dhtAddress);
    cfg.port = f.dht.port.value_or(0);
    cfg.lanDiscovery = f.dht.lan || config.lanDiscovery;
    if (!dht::validSwarmName(cfg.swarm))
        throw cli::UsageError("--swarm: '" + cfg.swarm +
                              "' is not a swarm name ([a-z0-9._-], 1..64 characters)");
    if (f.timeoutS == 0 || f.timeoutS > 3600)
        throw cli::UsageError("--timeout must be 1..3600 seconds");
    auto boot =
        dht::mergeBootstrap(f.dht.bootstrap, config.bootstrap, wire::processEnv("SWARM_BOOTSTRAP"));
    if (!boot)
        throw cli::UsageError(boot.error().what);
    if (boot->empty() && !cfg.lanDiscovery)
        throw cli::UsageError("no bootstrap node: pass --bootstrap HOST:PORT, list some in "
                              "submitter.toml, set SWARM_BOOTSTRAP, or use --lan");
    cfg.bootstrap = *boot;
    return cfg;
}

int listWorkers(const WorkersFlags& f, const cli::Globals& g) {
    auto config = loadSubmitConfig(submitConfigPath(g.home));
    if (!config)
        throw std::runtime_error(config.error().what);
    dht::NodeConfig cfg = nodeConfig(f, *config);
    auto trust = wire::TrustList::load(wire::trustPath(g.home));
    if (!trust) {
        fmt::print(stderr, "{}: {}\n", g.program, trust.error().what);
        return 1;
    }
    if (trust->empty())
        fmt::print(stderr, "{}: the allow-list is empty; add workers with '{} trust add ID NAME'\n",
                   g.program, g.program);
    const auto trustedTotal = trust->entries().size();

    wire::SystemClock clock;
    auto start = std::chrono::steady_clock::now();
    dht::Node node(cfg);
    dht::DiscoverySnapshot snap;
    bool complete = false;
    {
        dht::Discovery discovery(node, std::move(*trust), clock);
        discovery.start();
        // Done early once every allow-listed worker is listed.
        complete = discovery.waitUntil(
            [&](const dht::DiscoverySnapshot& s) {
                return trustedTotal > 0 && s.workers.size() == trustedTotal;
            },
            std::chrono::seconds(f.timeoutS));
        snap = discovery.snapshot();
    }
    node.shutdown();
    auto elapsedMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (g.json)
        fmt::print("{}\n", workersJson(cfg.swarm, snap, trustedTotal, elapsedMs, complete));
    else
        fmt::print("{}", workersTable(cfg.swarm, snap, trustedTotal, elapsedMs));
    std::fflush(stdout);
    return snap.workers.empty() ? 1 : 0;
}

} // namespace

cli::Command workersCommand() {
    return {"workers", "list the trusted workers found in the DHT, with their capacity",
            [](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<WorkersFlags>();
                declareWorkersFlags(app, *flags);
                return [flags](const cli::Globals& g) { return listWorkers(*flags, g); };
            }};
}

} // namespace swarm::submitter

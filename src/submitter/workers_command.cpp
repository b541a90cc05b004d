#include "submitter/workers_command.hpp"

#include "dht/bootstrap.hpp"
#include "dht/discovery.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "submitter/submit_config.hpp"
#include "wire/clock.hpp"
#include "wire/home.hpp"
#include "wire/trust_list.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace swarm::submitter {

namespace {

constexpr std::uint64_t kDefaultTimeoutSeconds = 10;

std::string jsonBool(bool b) {
    return b ? "true" : "false";
}

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

void printTable(std::string_view swarm, const dht::DiscoverySnapshot& snap,
                std::size_t trustedTotal, std::int64_t elapsedMs) {
    fmt::print("swarm '{}': {} of {} allow-listed workers found in {:.1f} s\n", swarm,
               snap.workers.size(), trustedTotal, static_cast<double>(elapsedMs) / 1000.0);
    if (!snap.workers.empty()) {
        fmt::print("{:<14} {:<12} {:>5} {:>10} {:>7} {:<8} {:<8} {:<8} {:>5}\n", "PEER", "NAME",
                   "CORES", "MEMORY", "SLOTS", "ARCH", "PODMAN", "ROOTLESS", "AGE");
        for (const auto& w : snap.workers) {
            const auto& r = w.record;
            fmt::print("{:<14} {:<12} {:>5} {:>10} {:>7} {:<8} {:<8} {:<8} {:>5}\n",
                       w.id.shortStr() + "..", printable(w.name.empty() ? "-" : w.name), r.cores,
                       humanBytes(r.memoryBytes), fmt::format("{}/{}", r.freeSlots, r.slots),
                       printable(r.arch), printable(r.podman.empty() ? "-" : r.podman),
                       r.rootless ? "yes" : "no", humanAge(snap.ageMs(w)));
        }
    }
    std::string skipped;
    for (std::size_t i = 0; i < dht::kSkipReasonCount; ++i)
        if (snap.skipped[i] > 0)
            skipped += fmt::format("{}{} {}", skipped.empty() ? "" : ", ", snap.skipped[i],
                                   dht::reasonName(static_cast<dht::SkipReason>(i)));
    fmt::print("skipped: {}\n", skipped.empty() ? "none" : skipped);
}

} // namespace

std::string jsonString(std::string_view text) {
    std::string out = "\"";
    auto bytes = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0, n = text.size();
    while (i < n) {
        unsigned char c = bytes[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\u{:04x}", c);
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            // Copy one well-formed UTF-8 sequence, or emit U+FFFD for a bad byte.
            std::size_t len = (c >= 0xc2 && c <= 0xdf)   ? 2
                              : (c >= 0xe0 && c <= 0xef) ? 3
                              : (c >= 0xf0 && c <= 0xf4) ? 4
                                                         : 0;
            bool ok = len > 0 && i + len <= n;
            for (std::size_t k = 1; ok && k < len; ++k)
                ok = (bytes[i + k] & 0xc0) == 0x80;
            if (ok && len == 3) {
                // No overlong forms, no UTF-16 surrogates.
                ok = !(c == 0xe0 && bytes[i + 1] < 0xa0) && !(c == 0xed && bytes[i + 1] >= 0xa0);
            } else if (ok && len == 4) {
                ok = !(c == 0xf0 && bytes[i + 1] < 0x90) && !(c == 0xf4 && bytes[i + 1] >= 0x90);
            }
            if (ok) {
                out.append(text.substr(i, len));
                i += len;
            } else {
                out += "\\ufffd";
                ++i;
            }
        }
    }
    out += '"';
    return out;
}

std::string workersJson(std::string_view swarm, const dht::DiscoverySnapshot& snap,
                        std::size_t trustedTotal, std::int64_t elapsedMs, bool complete) {
    std::string workers;
    for (const auto& w : snap.workers) {
        const auto& r = w.record;
        const auto& iso = r.isolation;
        std::string labels;
        for (const auto& l : r.labels)
            labels += (labels.empty() ? "" : ",") + jsonString(l);
        workers += fmt::format(
            "{}{{\"id\":{},\"name\":{},\"cores\":{},\"memory_bytes\":{},\"slots\":{},"
            "\"free_slots\":{},\"arch\":{},\"os\":{},\"labels\":[{}],\"podman\":{},"
            "\"rootless\":{},\"isolation\":{{\"memory\":{},\"cpu\":{},\"pids\":{},"
            "\"userns\":{},\"seccomp\":{},\"network\":{},\"read_only\":{}}},\"software\":{},"
            "\"sequence\":{},\"issued_at_ms\":{},\"expires_at_ms\":{},\"age_ms\":{}}}",
            workers.empty() ? "" : ",", jsonString(w.id.str()), jsonString(w.name), r.cores,
            r.memoryBytes, r.slots, r.freeSlots, jsonString(r.arch), jsonString(r.os), labels,
            jsonString(r.podman), jsonBool(r.rootless), jsonBool(iso.memory), jsonBool(iso.cpu),
            jsonBool(iso.pids), jsonBool(iso.userns), jsonBool(iso.seccomp), jsonBool(iso.network),
            jsonBool(iso.readOnly), jsonString(r.software), r.sequence, w.issuedAtMs, w.expiresAtMs,
            snap.ageMs(w));
    }
    std::string skipped;
    for (std::size_t i = 0; i < dht::kSkipReasonCount; ++i)
        skipped += fmt::format("{}{}:{}", i == 0 ? "" : ",",
                               jsonString(dht::reasonName(static_cast<dht::SkipReason>(i))),
                               snap.skipped[i]);
    return fmt::format("{{\"swarm\":{},\"elapsed_ms\":{},\"complete\":{},\"allow_listed\":{},"
                       "\"found\":{},\"workers\":[{}],\"skipped\":{{{}}},\"skipped_total\":{},"
                       "\"values_seen\":{}}}",
                       jsonString(swarm), elapsedMs, jsonBool(complete), trustedTotal,
                       snap.workers.size(), workers, skipped, snap.skippedTotal(),
                       snap.distinctValues);
}

cli::Command workersCommand() {
    return cli::Command{
        "workers",
        "workers [--swarm S] [--bootstrap H:P ...] [--timeout SECONDS] [--bind ADDR] "
        "[--port P] [--lan] [--json]   list trusted workers found in the DHT",
        [](cli::Args& args, const cli::Globals& g) -> int {
            auto config = loadSubmitConfig(submitConfigPath(g.home));
            if (!config)
                throw std::runtime_error(config.error().what);
            auto swarm = args.take("swarm").value_or(
                config->swarm.empty() ? std::string(dht::kDefaultSwarm) : config->swarm);
            auto flags = args.takeAll("bootstrap");
            auto timeoutS = args.takeNumber("timeout").value_or(kDefaultTimeoutSeconds);
            auto bind = args.take("bind").value_or(config->dhtAddress);
            auto port = args.takeNumber("port").value_or(0);
            bool lan = args.flag("lan") || config->lanDiscovery;
            bool json = g.json || args.flag("json");
            args.finish();
            if (!dht::validSwarmName(swarm))
                throw cli::UsageError("--swarm: '" + swarm +
                                      "' is not a swarm name ([a-z0-9._-], "
                                      "1..64 characters)");
            if (port > 65535)
                throw cli::UsageError("--port must be 0..65535");
            if (timeoutS == 0 || timeoutS > 3600)
                throw cli::UsageError("--timeout must be 1..3600 seconds");
            auto boot =
                dht::mergeBootstrap(flags, config->bootstrap, wire::processEnv("SWARM_BOOTSTRAP"));
            if (!boot)
                throw cli::UsageError(boot.error().what);
            if (boot->empty() && !lan)
                throw cli::UsageError("no bootstrap node: pass --bootstrap HOST:PORT, list "
                                      "some in submitter.toml, set SWARM_BOOTSTRAP, or use "
                                      "--lan");
            auto trust = wire::TrustList::load(wire::trustPath(g.home));
            if (!trust) {
                fmt::print(stderr, "{}: {}\n", g.program, trust.error().what);
                return 1;
            }
            if (trust->empty())
                fmt::print(stderr,
                           "{}: the allow-list is empty; add workers with '{} trust add ID "
                           "NAME'\n",
                           g.program, g.program);

            std::vector<wire::PeerId> wanted;
            for (const auto& e : trust->entries())
                wanted.push_back(e.id);
            const auto trustedTotal = wanted.size();

            dht::NodeConfig cfg;
            cfg.bindAddress = bind;
            cfg.port = static_cast<std::uint16_t>(port);
            cfg.bootstrap = *boot;
            cfg.lanDiscovery = lan;
            cfg.swarm = swarm;
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
                    std::chrono::seconds(timeoutS));
                snap = discovery.snapshot();
            }
            node.shutdown();
            auto elapsedMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
            if (json)
                fmt::print("{}\n", workersJson(swarm, snap, trustedTotal, elapsedMs, complete));
            else
                printTable(swarm, snap, trustedTotal, elapsedMs);
            std::fflush(stdout);
            return snap.workers.empty() ? 1 : 0;
        }};
}

} // namespace swarm::submitter

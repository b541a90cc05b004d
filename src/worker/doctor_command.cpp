// `swarm-worker doctor`: prints what isolation this machine really enforces,
// measured with probe containers (see src/sandbox/doctor.hpp).

#include "base/json_writer.hpp"
#include "sandbox/container_freezer.hpp"
#include "sandbox/image_ledger.hpp"
#include "sandbox/podman_client.hpp"
#include "wire/isolation_json.hpp"
#include "worker/commands.hpp"
#include "worker/cpu_limit.hpp"
#include "worker/ledger_images.hpp"
#include "worker/sandbox_setup.hpp"
#include "worker/subordinate_ids.hpp"
#include "worker/user_activity.hpp"
#include "worker/worker_config.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::worker {

namespace {

std::string pathOrNone(const std::optional<std::filesystem::path>& p) {
    return p ? p->string() : "";
}

// Bytes of the regular files under `dir` (0 if it does not exist).
std::uint64_t bytesUnder(const std::filesystem::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec))
            total += it->file_size(ec);
    return total;
}

// What the worker of this home holds on disk, against the volunteer's
// limits, and whether the CPU cap would hold here.
struct Holdings {
    WorkerConfig cfg;
    std::uint64_t cacheBytes = 0;
    std::uint64_t heldBytes = 0;
    std::size_t images = 0;
    std::uint64_t imageBytes = 0;
    std::string cpuCap; // one line
    std::string freeze; // how units are frozen while suspended
    std::string idle;   // the `[idle]` rules and whether logind answers
};

// The `[idle]` rules as they would hold here, in one line.
std::string idleText(const WorkerConfig& cfg) {
    std::string cpu = cfg.maxOtherCpu == 0
                          ? "other processes' CPU not watched"
                          : fmt::format("suspends while other processes use more than {}% of the "
                                        "machine",
                                        cfg.maxOtherCpu);
    if (!cfg.suspendWhenUserActive)
        return cpu + "; user activity not watched";
    const bool logind = UserActivity(spawnCommand()).check().has_value();
    return cpu + (logind ? "; user activity watched (logind)"
                         : "; logind not available: user activity not watched");
}

Holdings holdings(const std::filesystem::path& home, const WorkerConfig& cfg,
                  const SandboxSetup& setup) {
    Holdings h;
    h.cfg = cfg;
    h.cacheBytes = bytesUnder(home / "cache");
    h.heldBytes = bytesUnder(home / "held");
    try {
        sandbox::ImageLedger ledger(keptImagesPath(home));
        h.images = ledger.images().size();
        h.imageBytes = ledger.bytes();
    } catch (const std::exception&) {
    }
    h.freeze = std::string(sandbox::describe(sandbox::freezeMethodFor(setup.report.profile)));
    h.idle = idleText(cfg);
    if (cfg.cpuPercent >= 100)
        h.cpuCap = "none (limits.cpu_percent = 100)";
    else if (cpuCapEnforceable(setup.report.profile, setup.report.isolation))
        h.cpuCap = fmt::format("{}% of the machine for all units together: enforced (one parent "
                               "cgroup's CPU quota)",
                               cfg.cpuPercent);
    else
        h.cpuCap = fmt::format("{}% of the machine: NOT enforced here (Podman applies no CPU "
                               "limits: rootless on cgroup v1)",
                               cfg.cpuPercent);
    return h;
}

// As `status` shows sizes and ages.
std::string size(std::uint64_t n) {
    if (n >= (1ULL << 30))
        return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1ULL << 30));
    if (n >= (1ULL << 20))
        return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1ULL << 20));
    return fmt::format("{} KiB", (n + 1023) / 1024);
}

std::string age(std::int64_t ms) {
    const auto s = ms / 1000;
    if (s >= 86400 && s % 86400 == 0)
        return fmt::format("{} d", s / 86400);
    if (s >= 3600 && s % 3600 == 0)
        return fmt::format("{} h", s / 3600);
    if (s >= 60 && s % 60 == 0)
        return fmt::format("{} min", s / 60);
    return fmt::format("{} s", s);
}

std::string holdingsText(const Holdings& h) {
    return fmt::format("freeze:       {}\n"
                       "idle:         {}\n"
                       "cpu cap:      {}\n"
                       "disk:         blob cache {} of {}; unused {}: removed\n"
                       "              images loaded by this worker: {}, {} of {}; unused {}: "
                       "removed\n"
                       "              held results {} of {}\n",
                       h.freeze, h.idle, h.cpuCap, size(h.cacheBytes), size(h.cfg.cacheBytes),
                       age(h.cfg.blobMaxAgeMs), h.images, size(h.imageBytes),
                       size(h.cfg.imageMaxBytes), age(h.cfg.imageMaxAgeMs), size(h.heldBytes),
                       size(h.cfg.heldMaxBytes));
}

base::JsonObject holdingsJson(const Holdings& h) {
    return base::JsonObject()
        .add("cache_bytes", h.cacheBytes)
        .add("cache_limit", h.cfg.cacheBytes)
        .add("cache_max_age_ms", h.cfg.blobMaxAgeMs)
        .add("images", static_cast<std::uint64_t>(h.images))
        .add("image_bytes", h.imageBytes)
        .add("image_limit", h.cfg.imageMaxBytes)
        .add("image_max_age_ms", h.cfg.imageMaxAgeMs)
        .add("held_bytes", h.heldBytes)
        .add("held_limit", h.cfg.heldMaxBytes);
}

std::string toJson(const SandboxSetup& setup, const Holdings& h) {
    const auto& r = setup.report;
    return base::JsonObject()
        .add("reachable", r.reachable)
        .add("socket", r.socket)
        .add("version", r.info.version)
        .add("rootless", r.info.rootless)
        .add("cgroupVersion", r.info.cgroupVersion)
        .add("runtime", r.info.runtime)
        .add("storage", r.info.storageDriver)
        .add("probed", r.probed)
        .add("isolation", wire::isolationJson(r.isolation))
        .add("fallbacks", r.fallbacks)
        .add("problems", r.problems)
        .add("seccompProfile", pathOrNone(setup.seccompProfile))
        .add("containersConf", pathOrNone(setup.containersConf))
        .add("cpu_percent", h.cfg.cpuPercent)
        .add("cpu_cap", h.cpuCap)
        .add("freeze_method", h.freeze)
        .add("idle", h.idle)
        .add("disk", holdingsJson(h))
        .str();
}

// `--fix`: what rootful operation needs and only root can set up, the
// `containers` range of subordinate ids (rootless Podman uses the user's
// own ranges). Says what it did, on stderr under --json.
void fixSubordinateIds(const cli::Globals& globals) {
    if (::geteuid() != 0)
        throw std::runtime_error("--fix sets up rootful operation (a 'containers' range in "
                                 "/etc/subuid and /etc/subgid) and needs root; as a plain user "
                                 "rootless Podman uses your own ranges there");
    for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
        auto added = addContainersRange(file);
        if (!added)
            throw std::runtime_error("--fix: " + added.error());
        const auto said = *added ? fmt::format("fixed:        added {} to {}\n", **added, file)
                                 : fmt::format("fixed:        {} has a containers range\n", file);
        std::fputs(said.c_str(), globals.json ? stderr : stdout);
    }
}

int runDoctor(const std::string& image, bool fix, const cli::Globals& globals) {
    // The volunteer's limits as `run` would read them (a bad file fails here
    // as it would there).
    WorkerConfig cfg;
    if (std::filesystem::exists(globals.home / "worker.toml")) {
        auto loaded = loadWorkerConfig(globals.home / "worker.toml");
        if (!loaded)
            throw std::runtime_error(loaded.error().what);
        cfg = *loaded;
    }
    if (fix)
        fixSubordinateIds(globals);
    sandbox::CurlGlobal curl;
    SandboxSetup setup;
    try {
        setup = setUpSandbox(image);
    } catch (const std::exception& e) {
        if (globals.json)
            std::printf("%s\n", base::JsonObject()
                                    .add("reachable", false)
                                    .add("problems", std::vector<std::string>{e.what()})
                                    .str()
                                    .c_str());
        else
            std::printf("podman:       NOT reachable: %s\n", e.what());
        return 1;
    }
    const auto& report = setup.report;
    const auto held = holdings(globals.home, cfg, setup);
    if (globals.json) {
        std::printf("%s\n", toJson(setup, held).c_str());
    } else {
        std::fputs(report.text().c_str(), stdout);
        std::printf("files:        seccomp profile %s\n              containers.conf %s\n",
                    setup.seccompProfile ? setup.seccompProfile->c_str() : "(none)",
                    setup.containersConf ? setup.containersConf->c_str() : "(none)");
        std::fputs(holdingsText(held).c_str(), stdout);
    }
    return report.probed ? 0 : 1;
}

} // namespace

cli::Command doctorCommand() {
    return {"doctor", "measure the isolation Podman enforces here, with probe containers",
            [](CLI::App& app) -> cli::Action {
                auto image = std::make_shared<std::string>(sandbox::kProbeImage);
                app.add_option("--image", *image,
                               "the image the probe containers run (the default one is built from "
                               "busybox-static when missing)")
                    ->type_name("IMAGE")
                    ->capture_default_str();
                auto fix = std::make_shared<bool>(false);
                app.add_flag("--fix", *fix,
                             "as root: add the 'containers' range of subordinate ids rootful "
                             "Podman needs to /etc/subuid and /etc/subgid where it is missing, "
                             "then measure");
                return [image, fix](const cli::Globals& g) { return runDoctor(*image, *fix, g); };
            }};
}

} // namespace swarm::worker

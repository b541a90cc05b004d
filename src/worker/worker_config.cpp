#include "worker/worker_config.hpp"

#include "wire/trust_list.hpp"
#include "worker/duration.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace swarm::worker {

namespace {
std::optional<std::uint64_t> parseBytes(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value == 0)
        return std::nullopt;
    std::string_view unit(end, text.data() + text.size() - end);
    std::uint64_t mult = 1;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (unit == "K" || unit == "KiB")
        mult = 1ull << 10;
    else if (unit == "M" || unit == "MiB")
        mult = 1ull << 20;
    else if (unit == "G" || unit == "GiB")
        mult = 1ull << 30;
    else
        return std::nullopt;
    if (value > UINT64_MAX / mult)
        return std::nullopt;
    return value * mult;
}

wire::Error bad(const std::string& file, const toml::node& node, const std::string& why) {
    return wire::Error(wire::Error::Code::kMalformed,
                       file + ":" + std::to_string(node.source().begin.line) + ": " + why);
}

// "90s", "30m", "24h", "7d" or a whole number of seconds, > 0.
std::optional<std::int64_t> parseDurationMs(const toml::node& node) {
    if (auto v = node.value<std::int64_t>()) {
        if (*v <= 0 || *v > kMaxDurationSeconds)
            return std::nullopt;
        return *v * 1000;
    }
    if (auto text = node.value<std::string>())
        return worker::parseDurationMs(*text);
    return std::nullopt;
}

// A size: "512M", "4G" or a whole number of bytes, > 0.
std::optional<std::uint64_t> sizeOf(const toml::node& node) {
    if (auto v = node.value<std::string>())
        return parseBytes(*v);
    if (auto n = node.value<std::int64_t>(); n && *n > 0)
        return static_cast<std::uint64_t>(*n);
    return std::nullopt;
}

// The `[held]` table: max_age, max_bytes.
std::expected<void, wire::Error> parseHeld(const std::string& file, const toml::node& node,
                                           WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'held' must be a table ([held])"));
    for (auto&& [key, value] : *table) {
        const std::string k(key.str());
        if (k == "max_age") {
            auto ms = parseDurationMs(value);
            if (!ms)
                return std::unexpected(
                    bad(file, value,
                        "held: 'max_age' must be a duration like \"24h\", \"90m\" or \"7d\""));
            cfg.heldMaxAgeMs = *ms;
        } else if (k == "max_bytes") {
            auto b = sizeOf(value);
            if (!b)
                return std::unexpected(
                    bad(file, value, "held: 'max_bytes' must be a size like \"512M\" or \"1G\""));
            cfg.heldMaxBytes = *b;
        } else {
            return std::unexpected(bad(file, value, "held: unknown key '" + k + "'"));
        }
    }
    return {};
}
// The `[schedule]` table: weekdays, weekends, or a day (mon ... sun), each
// "all", "none" or windows; a day's own key wins over weekdays/weekends.
std::expected<void, wire::Error> parseSchedule(const std::string& file, const toml::node& node,
                                               WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'schedule' must be a table ([schedule])"));
    std::array<std::optional<std::vector<Schedule::Window>>, 7> own, group;
    for (auto&& [key, value] : *table) {
        const std::string k(key.str());
        auto text = value.value<std::string>();
        auto day = std::find(Schedule::kDayNames.begin(), Schedule::kDayNames.end(), k);
        if (day == Schedule::kDayNames.end() && k != "weekdays" && k != "weekends")
            return std::unexpected(
                bad(file, value,
                    "schedule: unknown key '" + k + "' (use weekdays, weekends or mon ... sun)"));
        if (!text)
            return std::unexpected(bad(
                file, value,
                "schedule: '" + k + R"(' must be a string like "18:00-08:00", "all" or "none")"));
        auto windows = Schedule::parseDay(*text);
        if (!windows)
            return std::unexpected(bad(file, value, "schedule: '" + k + "': " + windows.error()));
        if (day != Schedule::kDayNames.end())
            own[day - Schedule::kDayNames.begin()] = *windows;
        else
            for (int d = 0; d < 7; ++d)
                if ((k == "weekends") == (d == 0 || d == 6))
                    group[d] = *windows;
    }
    if (table->empty())
        return std::unexpected(
            bad(file, node, "schedule: names no day (remove [schedule] to compute at any time)"));
    // A day named by no key is closed.
    for (int d = 0; d < 7; ++d)
        cfg.schedule.setDay(d, own[d]     ? *own[d]
                               : group[d] ? *group[d]
                                          : std::vector<Schedule::Window>{});
    return {};
}

// The `[limits]` table: cpu_percent.
std::expected<void, wire::Error> parseLimits(const std::string& file, const toml::node& node,
                                             WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'limits' must be a table ([limits])"));
    for (auto&& [key, value] : *table) {
        const std::string k(key.str());
        if (k != "cpu_percent")
            return std::unexpected(bad(file, value, "limits: unknown key '" + k + "'"));
        auto v = value.value_exact<std::int64_t>();
        if (!v || *v < 1 || *v > 100)
            return std::unexpected(bad(file, value,
                                       "limits: 'cpu_percent' must be a whole number from 1 to "
                                       "100 (percent of the whole machine)"));
        cfg.cpuPercent = static_cast<std::uint32_t>(*v);
    }
    return {};
}

// The `[idle]` table: max_other_cpu, when_user_active.
std::expected<void, wire::Error> parseIdle(const std::string& file, const toml::node& node,
                                           WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'idle' must be a table ([idle])"));
    for (auto&& [key, value] : *table) {
        const std::string k(key.str());
        if (k == "max_other_cpu") {
            auto v = value.value_exact<std::int64_t>();
            if (!v || *v < 1 || *v > 100)
                return std::unexpected(
                    bad(file, value,
                        "idle: 'max_other_cpu' must be a whole number from 1 to 100 (percent of "
                        "the whole machine used by other processes that suspends the worker)"));
            cfg.maxOtherCpu = static_cast<std::uint32_t>(*v);
        } else if (k == "when_user_active") {
            auto v = value.value<bool>();
            if (!v)
                return std::unexpected(
                    bad(file, value, "idle: 'when_user_active' must be true or false"));
            cfg.suspendWhenUserActive = *v;
        } else {
            return std::unexpected(
                bad(file, value,
                    "idle: unknown key '" + k + "' (use max_other_cpu or when_user_active)"));
        }
    }
    return {};
}

// The `[disk]` table: max_image_bytes, max_image_age, max_blob_bytes,
// max_blob_age.
std::expected<void, wire::Error> parseDisk(const std::string& file, const toml::node& node,
                                           WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'disk' must be a table ([disk])"));
    for (auto&& [key, value] : *table) {
        const std::string k(key.str());
        std::uint64_t* bytes = k == "max_image_bytes"  ? &cfg.imageMaxBytes
                               : k == "max_blob_bytes" ? &cfg.cacheBytes
                                                       : nullptr;
        std::int64_t* age = k == "max_image_age"  ? &cfg.imageMaxAgeMs
                            : k == "max_blob_age" ? &cfg.blobMaxAgeMs
                                                  : nullptr;
        if (bytes != nullptr) {
            auto b = sizeOf(value);
            if (!b)
                return std::unexpected(
                    bad(file, value, "disk: '" + k + "' must be a size like \"512M\" or \"8G\""));
            *bytes = *b;
        } else if (age != nullptr) {
            auto ms = parseDurationMs(value);
            if (!ms)
                return std::unexpected(
                    bad(file, value,
                        "disk: '" + k + "' must be a duration like \"24h\", \"90m\" or \"7d\""));
            *age = *ms;
        } else {
            return std::unexpected(bad(file, value, "disk: unknown key '" + k + "'"));
        }
    }
    return {};
}

// One top-level key of worker.toml, read as the type it must have; errors
// name the file and line.
struct Entry {
    const std::string& file;
    const std::string& key;
    const toml::node& node;

    wire::Error fail(const std::string& why) const {
        return bad(file, node, "'" + key + "' " + why);
    }
    std::expected<std::string, wire::Error> str() const {
        if (auto v = node.value<std::string>())
            return *v;
        return std::unexpected(fail("must be a string"));
    }
    std::expected<std::int64_t, wire::Error> integer(std::int64_t lo, std::int64_t hi) const {
        auto v = node.value<std::int64_t>();
        if (!v || *v < lo || *v > hi)
            return std::unexpected(fail("must be a whole number from " + std::to_string(lo) +
                                        " to " + std::to_string(hi)));
        return *v;
    }
    std::expected<std::uint64_t, wire::Error> bytes() const {
        if (auto b = sizeOf(node))
            return *b;
        return std::unexpected(fail("must be a size like \"512M\" or \"4G\""));
    }
    std::expected<bool, wire::Error> boolean() const {
        if (auto v = node.value<bool>())
            return *v;
        return std::unexpected(fail("must be true or false"));
    }
    std::expected<std::vector<std::string>, wire::Error> strings() const {
        std::vector<std::string> out;
        auto* arr = node.as_array();
        if (arr == nullptr)
            return std::unexpected(fail("must be a list of strings"));
        for (auto& item : *arr) {
            auto v = item.value<std::string>();
            if (!v)
                return std::unexpected(bad(file, item, "'" + key + "' must be a list of strings"));
            out.push_back(*v);
        }
        return out;
    }
};

// The `[shares]` table: submitter (alias or peer id) = weight.
std::expected<void, wire::Error> parseShares(const std::string& file, const toml::node& node,
                                             WorkerConfig& cfg) {
    auto* table = node.as_table();
    if (table == nullptr)
        return std::unexpected(bad(file, node, "'shares' must be a table of submitter = weight"));
    for (auto&& [name, weight] : *table) {
        auto v = weight.value<std::int64_t>();
        if (!v || *v < 1 || *v > 10000)
            return std::unexpected(bad(file, weight,
                                       "shares: '" + std::string(name.str()) +
                                           "' must be a whole number from 1 to 10000"));
        cfg.shares[std::string(name.str())] = static_cast<std::uint32_t>(*v);
    }
    return {};
}

using Section = std::expected<void, wire::Error> (*)(const std::string&, const toml::node&,
                                                     WorkerConfig&);
constexpr std::array<std::pair<std::string_view, Section>, 6> kSections{{
    {"schedule", parseSchedule},
    {"held", parseHeld},
    {"limits", parseLimits},
    {"idle", parseIdle},
    {"disk", parseDisk},
    {"shares", parseShares},
}};

// A key that is not a table.
std::expected<void, wire::Error> parseScalar(const Entry& e, WorkerConfig& cfg) {
#define SWARM_TAKE(expr, target)                                                                   \
    do {                                                                                           \
        auto v_ = (expr);                                                                          \
        if (!v_)                                                                                   \
            return std::unexpected(v_.error());                                                    \
        target = static_cast<decltype(target)>(*v_);                                               \
    } while (0)
    const std::string& k = e.key;
    if (k == "swarm")
        SWARM_TAKE(e.str(), cfg.swarm);
    else if (k == "bootstrap")
        SWARM_TAKE(e.strings(), cfg.bootstrap);
    else if (k == "dht_address")
        SWARM_TAKE(e.str(), cfg.dhtAddress);
    else if (k == "dht_port")
        SWARM_TAKE(e.integer(0, 65535), cfg.dhtPort);
    else if (k == "lan_discovery")
        SWARM_TAKE(e.boolean(), cfg.lanDiscovery);
    else if (k == "slots")
        SWARM_TAKE(e.integer(1, 1024), cfg.slots);
    else if (k == "cpus_per_slot") {
        auto v = e.node.value<double>();
        if (!v || *v <= 0 || *v > 1024)
            return std::unexpected(e.fail("must be a number > 0"));
        cfg.cpusPerSlot = *v;
    } else if (k == "memory_per_slot")
        SWARM_TAKE(e.bytes(), cfg.memoryPerSlot);
    else if (k == "pids_per_slot")
        SWARM_TAKE(e.integer(8, 65536), cfg.pidsPerSlot);
    else if (k == "scratch_per_slot")
        SWARM_TAKE(e.bytes(), cfg.scratchPerSlot);
    else if (k == "cache_limit")
        SWARM_TAKE(e.bytes(), cfg.cacheBytes);
    else if (k == "max_output")
        SWARM_TAKE(e.bytes(), cfg.maxOutputBytes);
    else if (k == "allowed_images")
        SWARM_TAKE(e.strings(), cfg.allowedImages);
    else if (k == "pull_images")
        SWARM_TAKE(e.boolean(), cfg.pullImages);
    else if (k == "accept_image_archives")
        SWARM_TAKE(e.boolean(), cfg.acceptImageArchives);
    else if (k == "labels")
        SWARM_TAKE(e.strings(), cfg.labels);
    else if (k == "max_timeout_seconds") {
        std::int64_t secs = 0;
        SWARM_TAKE(e.integer(1, 7 * 24 * 3600), secs);
        cfg.maxTimeoutMs = secs * 1000;
    } else
        return std::unexpected(bad(e.file, e.node, "unknown key '" + k + "'"));
#undef SWARM_TAKE
    return {};
}
} // namespace

std::expected<WorkerConfig, wire::Error> loadWorkerConfig(const std::filesystem::path& path,
                                                          WorkerConfig cfg) {
    const std::string file = path.string();
    toml::table doc;
    try {
        doc = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
        if (e.source().begin.line == 0 && !std::filesystem::exists(path))
            return std::unexpected(wire::Error(wire::Error::Code::kIo, "cannot read " + file));
        return std::unexpected(wire::Error(wire::Error::Code::kMalformed,
                                           file + ":" + std::to_string(e.source().begin.line) +
                                               ": " + std::string(e.description())));
    }
    for (auto&& [key, node] : doc) {
        const std::string k(key.str());
        auto section = std::find_if(kSections.begin(), kSections.end(),
                                    [&](const auto& s) { return s.first == k; });
        auto ok = section != kSections.end() ? section->second(file, node, cfg)
                                             : parseScalar(Entry{file, k, node}, cfg);
        if (!ok)
            return std::unexpected(ok.error());
    }
    return cfg;
}

bool imageAllowed(std::string_view image, const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
        if (!p.empty() && p.back() == '*') {
            if (image.starts_with(std::string_view(p).substr(0, p.size() - 1)))
                return true;
        } else if (image == p) {
            return true;
        }
    }
    return false;
}

std::expected<void, wire::Error> checkShares(const WorkerConfig& cfg,
                                             const wire::TrustList& trust) {
    for (const auto& [key, weight] : cfg.shares) {
        bool known = std::any_of(trust.entries().begin(), trust.entries().end(),
                                 [&](const auto& e) { return e.name == key || e.id.str() == key; });
        if (!known)
            return std::unexpected(
                wire::Error(wire::Error::Code::kNotFound,
                            "shares: '" + key +
                                "' is neither the alias nor the peer id of a submitter on "
                                "this worker's trust list"));
    }
    return {};
}

std::uint32_t shareOf(const WorkerConfig& cfg, const std::string& peerId,
                      const std::string& alias) {
    if (auto it = cfg.shares.find(peerId); it != cfg.shares.end())
        return it->second;
    if (!alias.empty())
        if (auto it = cfg.shares.find(alias); it != cfg.shares.end())
            return it->second;
    return kDefaultShare;
}

} // namespace swarm::worker

#pragma once

#include "wire/error.hpp"
#include "worker/schedule.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::wire {
class TrustList;
}

namespace swarm::worker {

/// A submitter's weight when `shares` does not name it.
inline constexpr std::uint32_t kDefaultShare = 100;

/// A volunteer's settings: flags override the config file, which overrides
/// these defaults. Parsed once at start.
struct WorkerConfig {
    std::string swarm = "default";
    std::vector<std::string> bootstrap; ///< "host:port"
    std::string dhtAddress;             ///< IPv4 to bind the DHT node to; "" = any
    std::uint16_t dhtPort = 0;          ///< 0 = any free port
    bool lanDiscovery = false;
    std::uint32_t slots = 0;  ///< units at once; 0 = one per core
    double cpusPerSlot = 1.0; ///< CPU quota per unit
    std::uint64_t memoryPerSlot = 512ull << 20;
    std::uint32_t pidsPerSlot = 256;
    std::uint64_t scratchPerSlot = 256ull << 20; ///< tmpfs at /tmp
    std::uint64_t cacheBytes = 4ull << 30;       ///< input/output blob cache
    std::uint64_t maxOutputBytes = 256ull << 20; ///< per unit
    /// Image references this volunteer runs: exact, or a prefix ending in
    /// '*' ("localhost/*"). Submitters cannot widen it.
    std::vector<std::string> allowedImages{"localhost/*"};
    bool pullImages = false; ///< fetch allowed images missing locally (by digest)
    /// Run images that trusted submitters ship as archives (checked
    /// against their SHA-256 before loading).
    bool acceptImageArchives = true;
    std::vector<std::string> labels;
    std::int64_t maxTimeoutMs = 6 * 3600 * 1000; ///< longest unit accepted
    /// How the slots are divided while several submitters want work: a
    /// weight (1 to 10000) by submitter alias or peer id; the others weigh
    /// kDefaultShare.
    std::map<std::string, std::uint32_t> shares;
    /// `[held]`: results kept for a submitter that was away when its unit
    /// ended (HeldResults) are dropped, oldest first, past this age ...
    std::int64_t heldMaxAgeMs = std::int64_t{24} * 3600 * 1000;
    /// ... or while they take more than this many bytes.
    std::uint64_t heldMaxBytes = std::uint64_t{1} << 30;
    /// `[schedule]`: when the worker may compute (always, without one).
    Schedule schedule;
    /// `[limits] cpu_percent`: all units together get at most this share
    /// of the whole machine's CPU time (1 to 100; 100 = no cap).
    std::uint32_t cpuPercent = 100;
    /// `[idle] max_other_cpu`: the worker suspends while processes other
    /// than its units use more than this percent of the whole machine (1 to
    /// 100; Suspension); 0 = not watched.
    std::uint32_t maxOtherCpu = 0;
    /// `[idle] when_user_active`: the worker suspends while logind reports
    /// an active, non-idle local session.
    bool suspendWhenUserActive = false;
    /// `[disk]`: images this worker loaded from shipped archives are
    /// removed, least recently used first, past this age since last use ...
    std::int64_t imageMaxAgeMs = std::int64_t{7} * 24 * 3600 * 1000;
    /// ... or while together they take more than this many bytes.
    std::uint64_t imageMaxBytes = std::uint64_t{8} << 30;
    /// Cached blobs unused this long are removed (their size bound is
    /// cacheBytes, `[disk] max_blob_bytes` or `cache_limit`).
    std::int64_t blobMaxAgeMs = std::int64_t{7} * 24 * 3600 * 1000;
};

/// Reads a TOML config file over `base`. Unknown keys and wrong types are
/// errors naming the file and line (kMalformed); a missing file is kIo.
std::expected<WorkerConfig, wire::Error> loadWorkerConfig(const std::filesystem::path& path,
                                                          WorkerConfig base = {});

/// kNotFound naming the first key of cfg.shares that is neither the alias
/// nor the peer id of a submitter on `trust`.
std::expected<void, wire::Error> checkShares(const WorkerConfig& cfg, const wire::TrustList& trust);

/// The weight of the submitter with this peer id and allow-list alias.
std::uint32_t shareOf(const WorkerConfig& cfg, const std::string& peerId, const std::string& alias);

/// True if `image` is allowed by `patterns` (exact match, or prefix match
/// for a pattern ending in '*').
bool imageAllowed(std::string_view image, const std::vector<std::string>& patterns);

} // namespace swarm::worker

#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace swarm::sandbox {

/// An image the worker loaded itself (from an archive a submitter shipped).
struct KeptImage {
    std::string name; ///< the only tag the worker gave it (shippedImageName)
    std::string id;   ///< Podman's image id
    std::uint64_t bytes = 0;
    std::int64_t lastUsedMs = 0; ///< loaded, or a unit started or ended with it
    int running = 0;             ///< units running it now (not kept on disk)
};

/// The volunteer's bounds on kept images (`[disk]` in worker.toml).
struct ImageLimits {
    std::int64_t maxAgeMs = 0;  ///< unused this long: removed
    std::uint64_t maxBytes = 0; ///< together at most this many bytes
};

/// Which of `kept` go, in the order to remove them: first every image no
/// unit runs that was last used more than maxAgeMs before `nowMs`; then,
/// least recently used first, images no unit runs while all of `kept`
/// that stay take more than maxBytes. Images a unit runs always stay. Pure.
std::vector<std::string> imagesToRemove(const std::vector<KeptImage>& kept,
                                        const ImageLimits& limits, std::int64_t nowMs);

/// The record of images this worker loaded and when each was last used, in
/// one small file (written atomically: a crash leaves the old or the new
/// record). Only images named here are ever removed by collect(): never the
/// probe image or the volunteer's own. Thread-safe.
class ImageLedger {
public:
    /// Reads `file` if it exists (lines it cannot parse are dropped).
    /// Throws std::system_error when it exists but cannot be read.
    explicit ImageLedger(std::filesystem::path file);

    /// Records an image loaded under `name` (replacing an older entry of
    /// that name). Throws std::system_error if the record cannot be written.
    void loaded(const std::string& name, const std::string& id, std::uint64_t bytes,
                std::int64_t nowMs);
    /// A unit starts running image `id` / has ended: counts it as in use and
    /// marks it used now. Ids not in the ledger are ignored. Never throws
    /// (a failed write is retried with the next change).
    void started(const std::string& id, std::int64_t nowMs);
    void ended(const std::string& id, std::int64_t nowMs);

    /// Takes the name away, true when the image is gone (or was already),
    /// false when it must stay (Podman says a container uses it). May throw.
    using Remover = std::function<bool(const std::string& name)>;

    /// Removes what imagesToRemove() says through `remove`, which is called
    /// with the ledger locked (no unit can start with an image meanwhile);
    /// returns the images removed. An exception from `remove` ends the
    /// round (the record keeps what was not removed) and propagates.
    std::vector<KeptImage> collect(const ImageLimits& limits, std::int64_t nowMs,
                                   const Remover& remove);

    std::vector<KeptImage> images() const;
    /// Sum of the kept images' sizes.
    std::uint64_t bytes() const;
    /// True once after a unit ended (ended()) since the last call: time to
    /// collect.
    bool takeEnded();

private:
    void saveLocked();

    std::filesystem::path file_;
    mutable std::mutex mutex_;
    std::map<std::string, KeptImage> images_; // by name
    bool ended_ = false;
};

} // namespace swarm::sandbox

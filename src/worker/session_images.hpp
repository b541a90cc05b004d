#pragma once

#include "sandbox/unit_spec.hpp"
#include "wire/error.hpp"

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace swarm::worker {

/// The images one submitter session runs. An image (a reference such as
/// "localhost/tool:1", or a shipped archive named by its digest) is resolved
/// to a local image id the first time a unit of the session needs it; every
/// later unit of the session runs that same id, even if the tag is moved
/// meanwhile, and no longer asks Podman about it. The next session resolves
/// afresh. If a pinned id stops working (the image was removed), forget()
/// drops it and the next resolve() looks again. Thread-safe: the session's
/// unit threads share one instance; a unit asking for an image that another
/// is resolving waits for that answer (one load or pull per image).
class SessionImages {
public:
    using Resolver = std::function<std::expected<std::string, wire::Error>()>;

    struct Pinned {
        std::string id;
        bool fresh = false; ///< resolved by this call, not taken from the pins
    };

    /// The pinned id for `key`, else `resolve()`'s answer, pinned when it is
    /// one. Units that were waiting while a resolve failed get its error;
    /// errors are not pinned: a unit that comes later tries again.
    std::expected<Pinned, wire::Error> resolve(const std::string& key, const Resolver& resolve);

    /// Drops the pin for `key` if it still names `id`.
    void forget(const std::string& key, const std::string& id);

    using Present = std::function<bool(const std::string& id)>;
    using Run = std::function<sandbox::UnitResult(const std::string& id)>;

    /// Runs a unit with the session's image for `key`: `run(id)` with the
    /// pinned id (resolved first if need be). When the run did not start,
    /// the id came from the pins and `present(id)` says the image is gone
    /// (the volunteer removed it), the pin is dropped, the image resolved
    /// again and the unit run once more. `pinned(id)` is called whenever an
    /// id is newly pinned. Throws std::runtime_error("image not available:
    /// ...") when the image cannot be resolved.
    sandbox::UnitResult run(const std::string& key, const Resolver& resolve, const Present& present,
                            const Run& run,
                            const std::function<void(const std::string& id)>& pinned = {});

    /// How many images are pinned now.
    std::size_t size() const;

private:
    struct Entry {
        mutable std::mutex mutex; // held while resolving; guards id, lastError
        std::optional<std::string> id;
        std::atomic<std::uint64_t> attempts{0}; // resolves ended, however
        std::optional<wire::Error> lastError;   // of the last one, if it failed
    };
    std::shared_ptr<Entry> entry(const std::string& key);

    mutable std::mutex mutex_; // guards entries_ (not the entries)
    std::map<std::string, std::shared_ptr<Entry>> entries_;
};

} // namespace swarm::worker

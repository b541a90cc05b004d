#include "worker/session_images.hpp"

#include <stdexcept>

namespace swarm::worker {

std::shared_ptr<SessionImages::Entry> SessionImages::entry(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    if (!e)
        e = std::make_shared<Entry>();
    return e;
}

std::expected<SessionImages::Pinned, wire::Error> SessionImages::resolve(const std::string& key,
                                                                         const Resolver& resolve) {
    auto e = entry(key);
    const auto attemptsBefore = e->attempts.load();
    // Held while resolving, so that units arriving meanwhile wait for this
    // answer instead of loading or pulling the same image again.
    std::lock_guard lock(e->mutex);
    if (e->id)
        return Pinned{*e->id, false};
    // An attempt that ended while this unit waited failed: its answer is
    // this unit's too (no queue of pulls one after the other).
    if (e->attempts.load() != attemptsBefore && e->lastError)
        return std::unexpected(*e->lastError);
    struct Count {
        Entry& e;
        ~Count() { ++e.attempts; }
    } count{*e};
    e->lastError.reset();
    auto id = resolve();
    if (!id) {
        e->lastError = id.error();
        return std::unexpected(id.error());
    }
    e->id = std::move(*id);
    return Pinned{*e->id, true};
}

void SessionImages::forget(const std::string& key, const std::string& id) {
    auto e = entry(key);
    std::lock_guard lock(e->mutex);
    if (e->id == id)
        e->id.reset();
}

sandbox::UnitResult SessionImages::run(const std::string& key, const Resolver& resolve,
                                       const Present& present, const Run& run,
                                       const std::function<void(const std::string& id)>& pinned) {
    auto image = [&] {
        auto found = this->resolve(key, resolve);
        if (!found)
            throw std::runtime_error("image not available: " + found.error().what);
        if (found->fresh && pinned)
            pinned(found->id);
        return *found;
    };
    auto first = image();
    auto result = run(first.id);
    if (result.started || first.fresh || present(first.id))
        return result;
    forget(key, first.id);
    return run(image().id);
}

std::size_t SessionImages::size() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [key, e] : entries_) {
        std::lock_guard entryLock(e->mutex);
        n += e->id.has_value();
    }
    return n;
}

} // namespace swarm::worker

#pragma once

#include "wire/digest.hpp"

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace swarm::worker {

/// The blobs each submitter (by peer id) sent this worker or its own units
/// produced: only those are handed to its units without being sent again.
/// Knowing another submitter's digest is not proof of having the content.
/// Kept in memory: after a restart every blob is sent once more.
/// Thread-safe.
class ProvenBlobs {
public:
    bool has(const std::string& peer, const wire::Digest& d) const {
        std::lock_guard lock(mutex_);
        auto it = proven_.find(peer);
        return it != proven_.end() && it->second.contains(d);
    }
    void add(const std::string& peer, const std::vector<wire::Digest>& digests) {
        static constexpr std::size_t kMax = 1 << 20; // then start over
        std::lock_guard lock(mutex_);
        auto& set = proven_[peer];
        if (set.size() + digests.size() > kMax)
            set.clear();
        set.insert(digests.begin(), digests.end());
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::set<wire::Digest>> proven_;
};

} // namespace swarm::worker

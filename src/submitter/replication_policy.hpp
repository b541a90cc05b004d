#pragma once

#include <cstdint>

namespace swarm::submitter {

/// How many replicas of each unit run and when a unit is decided.
/// JobSpec parsing guarantees 1 <= quorum <= replicas <= maxTotalResults.
struct ReplicationPolicy {
    std::uint32_t replicas = 2;         ///< R: replicas issued up front
    std::uint32_t quorum = 2;           ///< Q: agreeing results needed
    std::uint32_t maxErrors = 3;        ///< a unit fails on error number maxErrors + 1
    std::uint32_t maxTotalResults = 10; ///< replicas issued per unit, at most
    std::int64_t leaseMs = 30 * 60'000; ///< a replica's deadline after it is issued
};

} // namespace swarm::submitter

#pragma once

// Payloads of signed envelopes (see envelope.hpp). Named msgpack maps with a
// `version` key so that fields can be added without breaking old readers.

#include <msgpack.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::wire {

/// Which limits are actually enforced on this worker, measured, not assumed.
struct Isolation {
    bool memory = false;   ///< memory limit kills a hog
    bool cpu = false;      ///< CPU quota applies
    bool pids = false;     ///< pids limit stops a fork bomb
    bool userns = false;   ///< container root is not host root
    bool seccomp = false;  ///< our stricter seccomp profile is applied
    bool network = false;  ///< units have no network
    bool readOnly = false; ///< read-only root filesystem
    /// The volunteer capped the CPU of all units together (`[limits]
    /// cpu_percent`) and the cap holds here; false with no cap or where it
    /// cannot be enforced (rootless on cgroup v1). Absent from older
    /// workers' records (false).
    bool cpuCap = false;
    MSGPACK_DEFINE_MAP(memory, cpu, pids, userns, seccomp, network, readOnly, cpuCap)
};

/// The words of CapacityRecord::reach ("" is the third: not known).
inline constexpr std::string_view kReachPublic = "public";
inline constexpr std::string_view kReachBehindNat = "behind-nat";

/// A worker's announcement under the swarm's workers key (EnvelopeType::
/// kCapacity). Keep it small: OpenDHT returns values inline only when a
/// reply stays under ~600 bytes.
struct CapacityRecord {
    std::uint32_t version = 1;
    std::string peerId;         ///< must equal the envelope's signer
    std::uint64_t sequence = 0; ///< newest per peer wins
    std::uint32_t cores = 0;
    std::uint64_t memoryBytes = 0;
    std::uint32_t slots = 0;
    std::uint32_t freeSlots = 0;
    std::string arch; ///< e.g. "x86_64"
    std::string os;   ///< e.g. "linux"
    std::vector<std::string> labels;
    std::string podman; ///< Podman version, "" if none
    bool rootless = false;
    Isolation isolation;
    std::string software;   ///< swarm version
    bool withdrawn = false; ///< a tombstone put on clean shutdown
    /// "host:port" where this peer serves relay circuits (--relay) for the
    /// peers on its allow-list; empty if it does not. At most 4.
    std::vector<std::string> relays;
    /// Where the DHT sees this worker: kReachPublic (at an address of its
    /// own interfaces), kReachBehindNat (elsewhere: a NAT between), "" not
    /// known yet. Absent from older workers' records, which decode as "".
    std::string reach;
    MSGPACK_DEFINE_MAP(version, peerId, sequence, cores, memoryBytes, slots, freeSlots, arch, os,
                       labels, podman, rootless, isolation, software, withdrawn, relays, reach)
};

/// A submitter's invitation (EnvelopeType::kOffer), sealed to one worker and
/// put under that worker's inbox key. The worker dials one of `endpoints`
/// and presents `token` in its hello.
struct Offer {
    std::uint32_t version = 1;
    std::string submitterId;              ///< must equal the envelope's signer
    std::string workerId;                 ///< the worker it is meant for
    std::string swarm;                    ///< swarm name
    std::vector<std::string> endpoints;   ///< "host:port"
    std::array<std::uint8_t, 16> token{}; ///< one-time, checked by the submitter
    std::string jobId;                    ///< informational
    /// The job run's batch id (32 lower-case hex, the journal's): a worker
    /// delivers results it kept for this submitter only to a session whose
    /// offer names the same batch. Empty from older submitters.
    std::string batchId;
    MSGPACK_DEFINE_MAP(version, submitterId, workerId, swarm, endpoints, token, jobId, batchId)
};

} // namespace swarm::wire

#pragma once

#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"
#include "wire/trust_list.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace swarm::dht {

/// Why a value found under the workers key was not used. Names (reasonName)
/// are stable: they appear in logs and in `swarm-submit workers --json`.
enum class SkipReason {
    kMalformed,      ///< not an envelope, or the payload is not a capacity record
    kTooLarge,       ///< over a size limit
    kBadSignature,   ///< signature does not verify
    kForeign,        ///< another swarm (domain), another record type or version
    kExpired,        ///< the envelope's expiry has passed
    kFromFuture,     ///< issued later than now + the allowed clock skew
    kSignerMismatch, ///< the record's peer id is not the key that signed it
    kUntrusted,      ///< a valid record from a worker not on the allow-list
    kStale,          ///< older (or equal) sequence than one already seen for that worker
};
inline constexpr std::size_t kSkipReasonCount = 9;

/// Stable lower-case name: "malformed", "too-large", "bad-signature", "foreign",
/// "expired", "from-future", "signer-mismatch", "untrusted", "stale".
const char* reasonName(SkipReason reason) noexcept;

/// A trusted worker as last announced.
struct WorkerEntry {
    wire::PeerId id;
    std::string name; ///< its alias on our allow-list ("" if none)
    wire::CapacityRecord record;
    std::int64_t issuedAtMs = 0;  ///< from the envelope
    std::int64_t expiresAtMs = 0; ///< from the envelope
    std::int64_t firstSeenMs = 0; ///< our clock, when we first accepted a record of it
    std::int64_t lastSeenMs = 0;  ///< our clock, when we accepted its newest record
};

/// The submitter's view of the workers key: verifies each value, filters by
/// the allow-list, keeps the newest record per worker, counts what it skips.
/// Pure logic (no I/O, time passed in). Not thread-safe.
class WorkerTable {
public:
    /// What ingest() did with one value.
    enum class Outcome {
        kAdded,     ///< a trusted worker appeared
        kUpdated,   ///< a newer record of a known worker
        kWithdrawn, ///< a tombstone removed a worker
        kDuplicate, ///< exactly these bytes were already handled (not counted again)
        kSkipped,   ///< refused; see skipped()
    };
    struct Result {
        Outcome outcome;
        std::optional<SkipReason> reason; ///< set when kSkipped
    };

    /// `swarm` selects the envelope domain; `maxSkewMs` bounds how far in
    /// the future an envelope may be issued.
    WorkerTable(std::string swarm, wire::TrustList trust, std::int64_t maxSkewMs = 60'000);

    /// Verifies and applies one DHT value. Never throws on bad bytes.
    Result ingest(wire::ByteView value, std::int64_t nowMs);

    /// Trusted workers whose newest record is live at `nowMs` (not withdrawn,
    /// not expired), sorted by peer id.
    std::vector<WorkerEntry> live(std::int64_t nowMs) const;
    /// Per-reason counts of distinct values skipped so far.
    const std::array<std::uint64_t, kSkipReasonCount>& skipped() const noexcept { return skipped_; }
    std::uint64_t skipped(SkipReason reason) const noexcept {
        return skipped_[static_cast<std::size_t>(reason)];
    }
    /// Distinct values examined (duplicates excluded).
    std::uint64_t distinctValues() const noexcept { return distinct_; }
    const wire::TrustList& trust() const noexcept { return trust_; }

private:
    struct PeerState {
        std::uint64_t sequence = 0;
        bool withdrawn = false;
        WorkerEntry entry;
    };
    Result skip(SkipReason reason);
    bool seenBefore(const wire::Digest& digest);

    std::string swarm_;
    std::string domain_;
    wire::TrustList trust_;
    std::int64_t maxSkewMs_;
    std::map<wire::PeerId, PeerState> peers_; // trusted peers only: bounded by the allow-list
    std::set<wire::Digest> seen_;
    std::deque<wire::Digest> seenOrder_;
    std::array<std::uint64_t, kSkipReasonCount> skipped_{};
    std::uint64_t distinct_ = 0;
};

} // namespace swarm::dht

#pragma once

#include "dht/announcer.hpp"
#include "dht/discovery.hpp"
#include "dht/node.hpp"
#include "net/credentials.hpp"
#include "net/socket.hpp"
#include "submitter/endpoints.hpp"
#include "submitter/job_runner.hpp"
#include "submitter/relay_pool.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/trust_list.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::net {
class Listener;
}

namespace swarm::submitter {

/// Relays to reserve on, best first: --relay-via always; behind NAT, also
/// those trusted peers announce in their capacity records, but not the
/// ones of peers that are themselves behind NAT (their relay is reachable
/// only if a port is forwarded, and then only as --relay-via). Pure.
std::vector<net::Endpoint> relayCandidates(const std::vector<std::string>& via, net::Reach reach,
                                           const dht::DiscoverySnapshot& seen);

/// Holds the first offers back briefly while they would carry endpoints
/// that cannot work yet: until the DHT has told where we stand, and, behind
/// NAT without IPv6 or with relays known, until a relay granted a
/// reservation. After that, or at the latest after 15 s (5 s without a
/// word from the DHT), offers go out with what there is.
struct OfferGate {
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
    bool relaysWanted = false;
    bool open(const EndpointSources& where) const;
};

/// Where a run can be reached, kept up to date on the run's timer: what
/// the DHT says of this host (logged when it changes), the relays it
/// reserves on (RelayPool), and the endpoints offers carry. A run that
/// serves as a relay (--relay) also announces it here, in a capacity
/// record without slots, so that submitters behind NAT that trust it find
/// it as they find a worker's relay; JobRunner offers such records no work.
///
/// Borrows everything it is given; refresh() and endpoints() run on the
/// timer's thread only.
class Presence {
public:
    struct Parts {
        const RunOptions& options;
        std::uint16_t port; ///< the listener's
        dht::Node& node;
        const dht::Discovery& discovery;
        const net::Credentials& credentials;
        const wire::TrustList& trust;
        net::Listener& listener;
        const wire::Identity& identity;
        const wire::Clock& clock;
    };
    /// `relayEndpoints`: where this run's own relay listens, to announce
    /// (none without --relay).
    Presence(Parts parts, const std::vector<std::string>& relayEndpoints);
    ~Presence();
    Presence(const Presence&) = delete;
    Presence& operator=(const Presence&) = delete;

    /// Asks the DHT where we stand and updates the relays from it.
    void refresh();
    /// The endpoints for an offer now; empty while offers must wait.
    std::vector<std::string> endpoints() const;
    /// Lets go of every relay reservation and withdraws the relay record.
    void stop();

private:
    void announceRelay();

    Parts parts_;
    EndpointSources where_;
    RelayPool relays_;
    OfferGate gate_;
    std::optional<std::string> said_; // the reachability last logged
    std::unique_ptr<dht::Announcer> relayRecord_;
    wire::CapacityRecord record_; // the relay record, when relaying
};

} // namespace swarm::submitter

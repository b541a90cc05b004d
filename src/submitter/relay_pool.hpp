#pragma once

#include "net/credentials.hpp"
#include "net/relay_reservation.hpp"
#include "net/socket.hpp"
#include "wire/trust_list.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace swarm::net {
class Listener;
}

namespace swarm::submitter {

/// The relays a submitter keeps reservations on, so that workers that cannot
/// dial it reach it through them (docs/protocol.md "Relay"). Circuits go to
/// the listener (Listener::adopt), which serves them like any worker.
///
/// Holds up to `want` reservations among the candidates it is given, in
/// their order; one that has not been granted for a while is let go when
/// another candidate is free, so a dead relay is replaced. Never blocks on
/// a relay. Used from one thread (the job runner's timer); destroying it
/// waits for its reservations to end.
class RelayPool {
public:
    RelayPool(const net::Credentials& credentials, const wire::TrustList& trust,
              net::Listener& listener, std::size_t want = 2);

    /// Candidates, best first: every one must name a relay on the trust list
    /// ("relay:<peer-id>@host:port"); others are ignored.
    void update(const std::vector<net::Endpoint>& candidates);
    /// The relayed endpoints to put into offers: the granted reservations.
    std::vector<std::string> endpoints() const;
    /// One line per reservation, for the log and status.
    std::vector<std::string> states() const;

private:
    struct Held {
        std::unique_ptr<net::RelayReservation> reservation;
        std::chrono::steady_clock::time_point since;      ///< started
        std::chrono::steady_clock::time_point lastActive; ///< granted last seen
    };
    const net::Credentials& creds_;
    const wire::TrustList& trust_;
    net::Listener& listener_;
    const std::size_t want_;
    std::map<std::string, Held> held_;                                   // by endpoint text
    std::map<std::string, std::chrono::steady_clock::time_point> letGo_; // and when
    std::vector<std::unique_ptr<net::RelayReservation>> retired_;        // stopping
};

} // namespace swarm::submitter

#include "relay/relay_server.hpp"

#include "net/interfaces.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

namespace swarm::relay {

namespace {
const wire::Logger kLog("relay");

std::string shortId(const wire::PublicKey& key) {
    return wire::PeerId(key).shortStr();
}
} // namespace

/// A peer reachable through this relay: its reservation connection. Other
/// threads send on it (relay-incoming) and may abort it (the same peer
/// reserving again), but only while it is alive; its own thread ends it with
/// end(), after which no other thread touches the session.
struct RelayServer::Reservation {
    net::Session* session = nullptr;

    template <typename T> bool send(const T& msg) {
        std::lock_guard sending(sendMutex);
        {
            std::lock_guard guard(lifeMutex);
            if (!alive)
                return false;
        }
        return session->send(msg).has_value();
    }
    void abort() {
        std::lock_guard guard(lifeMutex);
        if (alive)
            session->abort();
    }
    void end() {
        {
            std::lock_guard guard(lifeMutex);
            alive = false;
        }
        session->abort();                   // a send stuck on it fails now
        std::lock_guard sending(sendMutex); // and is over once this is taken
    }

private:
    std::mutex sendMutex; // one send at a time
    std::mutex lifeMutex; // guards alive
    bool alive = true;
};

/// A circuit asked for and not yet taken by the reserved side; then, once
/// taken, the circuit both handler threads share. Guarded by mutex_.
struct RelayServer::Pending {
    wire::PublicKey target{};
    net::Session* acceptor = nullptr;
    std::shared_ptr<Circuit> circuit;
    bool started = false; // relay-opened sent to both: pumps may start
    bool failed = false;  // the dialing side gave up: the acceptor must too
};

std::vector<std::string> relayEndpoints(const std::string& host, std::uint16_t port) {
    if (!net::isAnyHost(host))
        return {net::Endpoint{host, port, {}}.str()};
    std::vector<std::string> out;
    std::vector<std::string> loopback;
    const bool v4only = host == "0.0.0.0"; // "", "*", "::": dual-stack (net::listenTcp)
    for (const auto& a : net::localAddresses()) {
        if (v4only && a.ipv6)
            continue;
        auto text = net::Endpoint{a.host, port, {}}.str();
        (a.loopback ? loopback : out).push_back(text);
    }
    if (out.empty())
        out = loopback;
    if (out.size() > 4)
        out.resize(4);
    return out;
}

RelayServer::RelayServer(const net::Credentials& credentials, net::PeerCheck allowed,
                         std::string host, std::uint16_t port, RelayLimits limits)
    : limits_(limits), bandwidth_(limits.bytesPerSecond) {
    net::ListenerConfig config;
    config.host = std::move(host);
    config.port = port;
    // Every reservation, both sides of every circuit, and room for the
    // handshakes of requests that will be refused.
    config.maxConnections = limits_.reservations + 2 * limits_.circuits + 16;
    config.limits = limits_.session;
    listener_ = std::make_unique<net::Listener>(credentials, config, std::move(allowed),
                                                [this](net::Session& s) { serve(s); });
}

RelayServer::~RelayServer() {
    stop();
}

std::uint16_t RelayServer::port() const noexcept {
    return listener_->port();
}

RelayStats RelayServer::stats() const {
    RelayStats s;
    {
        std::lock_guard lock(mutex_);
        s.reservations = reservations_.size();
        s.circuits = circuits_;
        s.circuitsOpened = opened_;
        s.refused = refused_;
    }
    s.bytes = bytes_;
    s.listener = listener_->stats();
    return s;
}

void RelayServer::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    changed_.notify_all();
    listener_->stop();
}

void RelayServer::countRefusal(net::Session& session, const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        ++refused_;
    }
    kLog.info("relay: refused {} ({}): {}", shortId(session.peer()), session.peerAddress(), why);
}

void RelayServer::refuse(net::Session& session, const std::string& why) {
    countRefusal(session, why);
    wire::ErrorMsg error;
    error.code = static_cast<std::uint32_t>(net::Error::Code::kRefused);
    error.message = why;
    if (!session.broken())
        (void)session.send(error);
}

// The first message says what the connection is for.
void RelayServer::serve(net::Session& session) {
    auto raw = session.receiveBy(net::SteadyClock::now() + limits_.session.handshake);
    if (!raw)
        return refuse(session, "no request: " + net::describe(raw.error()));
    switch (raw->type) {
    case wire::MsgType::kRelayReserve:
        if (auto body = wire::bodyAs<wire::RelayReserve>(*raw); !body)
            return refuse(session, "relay-reserve: " + body.error().what);
        return reserve(session);
    case wire::MsgType::kRelayConnect: {
        auto body = wire::bodyAs<wire::RelayConnect>(*raw);
        if (!body)
            return refuse(session, "relay-connect: " + body.error().what);
        return connect(session, *body);
    }
    case wire::MsgType::kRelayAccept: {
        auto body = wire::bodyAs<wire::RelayAccept>(*raw);
        if (!body)
            return refuse(session, "relay-accept: " + body.error().what);
        return accept(session, *body);
    }
    default:
        return refuse(session, std::string("expected relay-reserve, relay-connect or "
                                           "relay-accept, got ") +
                                   wire::msgTypeName(raw->type));
    }
}

void RelayServer::reserve(net::Session& session) {
    const wire::PublicKey key = session.peer();
    auto mine = std::make_shared<Reservation>();
    mine->session = &session;
    std::shared_ptr<Reservation> old;
    bool registered = false;
    {
        std::lock_guard lock(mutex_);
        auto it = reservations_.find(key);
        if (it != reservations_.end() || reservations_.size() < limits_.reservations) {
            if (it != reservations_.end())
                old = it->second;
            reservations_[key] = mine;
            registered = true;
        }
    }
    if (!registered)
        return refuse(session, fmt::format("the relay is at its limit of {} reservations",
                                           limits_.reservations));
    if (old) // the same peer again (it reconnected): the old one ends
        old->abort();
    kLog.info("relay: reservation for {} ({})", shortId(key), session.peerAddress());
    holdReservation(*mine);
    {
        std::lock_guard lock(mutex_);
        auto it = reservations_.find(key);
        if (it != reservations_.end() && it->second == mine)
            reservations_.erase(it);
    }
    mine->end();
}

// Answers the first relay-reserve and every renewal until the peer goes,
// falls silent for a reservation's lifetime, or the relay stops.
void RelayServer::holdReservation(Reservation& mine) {
    net::Session& session = *mine.session;
    wire::RelayReserved reserved;
    reserved.ttlMs = limits_.reservationTtl.count();
    reserved.observed = session.peerAddress();
    for (;;) {
        if (!mine.send(reserved))
            return;
        auto raw = session.receive(limits_.reservationTtl);
        if (!raw) {
            kLog.info("relay: reservation for {} ended: {}", shortId(session.peer()),
                      net::describe(raw.error()));
            return;
        }
        if (auto renew = wire::bodyAs<wire::RelayReserve>(*raw); !renew) {
            countRefusal(session, "on a reservation: " + renew.error().what);
            wire::ErrorMsg error;
            error.code = static_cast<std::uint32_t>(net::Error::Code::kRefused);
            error.message = "on a reservation: " + renew.error().what;
            mine.send(error);
            return;
        }
    }
}

void RelayServer::connect(net::Session& session, const wire::RelayConnect& request) {
    const wire::PublicKey target = wire::PeerId::parse(request.target)->key(); // judged
    auto reservation = reservationFor(target);
    if (!reservation)
        return refuse(session, "no reservation for " + request.target.substr(0, 12));
    const wire::CircuitId id = newCircuitId();
    const wire::PublicKey from = session.peer();
    const std::size_t perPeer = std::max<std::size_t>(2, limits_.circuits / 4);
    auto pending = std::make_shared<Pending>();
    pending->target = target;
    std::string full;
    {
        std::lock_guard lock(mutex_);
        if (circuits_ >= limits_.circuits)
            full = fmt::format("the relay is at its limit of {} circuits", limits_.circuits);
        else if (circuitsFrom_[from] >= perPeer)
            full = fmt::format("the relay is at its limit of {} circuits per peer", perPeer);
        if (full.empty()) {
            ++circuits_;
            ++circuitsFrom_[from];
            pending_[id] = pending;
        }
    }
    if (!full.empty())
        return refuse(session, full);
    auto circuit = awaitAcceptor(session, *reservation, id, pending);
    if (circuit) {
        circuit->pump(session);
        circuit->finish();
    }
    std::lock_guard lock(mutex_);
    --circuits_;
    if (--circuitsFrom_[from] == 0)
        circuitsFrom_.erase(from);
}

// Tells the reserved peer, waits for its relay-accept (accept()), then opens
// the circuit. Null, with the dialing side told why, if it does not come.
std::shared_ptr<Circuit> RelayServer::awaitAcceptor(net::Session& session, Reservation& reservation,
                                                    const wire::CircuitId& id,
                                                    const std::shared_ptr<Pending>& pending) {
    wire::RelayIncoming incoming;
    incoming.circuit = id;
    incoming.from = wire::PeerId(session.peer()).str();
    incoming.fromObserved = session.peerAddress();
    const bool told = reservation.send(incoming);
    std::unique_lock lock(mutex_);
    if (told)
        changed_.wait_for(lock, limits_.acceptWait,
                          [&] { return pending->acceptor != nullptr || stopping_; });
    pending_.erase(id);
    if (!pending->acceptor || stopping_) {
        pending->failed = true;
        changed_.notify_all();
        lock.unlock();
        const std::string target = shortId(pending->target);
        refuse(session, told ? fmt::format("{} did not take the circuit within {} ms", target,
                                           limits_.acceptWait.count())
                             : fmt::format("the reservation of {} just ended", target));
        return nullptr;
    }
    const std::string label =
        fmt::format("{} -> {}", shortId(session.peer()), shortId(pending->target));
    pending->circuit = std::make_shared<Circuit>(
        session, *pending->acceptor, Circuit::Limits{limits_.circuitBytes, limits_.circuitDuration},
        bandwidth_, bytes_, label);
    ++opened_;
    auto circuit = pending->circuit;
    lock.unlock();
    circuit->open(); // on failure closed: both pumps return at once
    {
        std::lock_guard guard(mutex_);
        pending->started = true;
    }
    changed_.notify_all();
    return circuit;
}

void RelayServer::accept(net::Session& session, const wire::RelayAccept& request) {
    std::shared_ptr<Pending> pending;
    std::string why;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(request.circuit);
        if (it == pending_.end())
            why = "no such circuit is waiting here";
        else if (it->second->target != session.peer())
            why = "that circuit is for another peer";
        else if (it->second->acceptor != nullptr)
            why = "that circuit is taken";
        else {
            pending = it->second;
            pending->acceptor = &session;
        }
    }
    if (!pending)
        return refuse(session, why);
    changed_.notify_all();
    std::shared_ptr<Circuit> circuit;
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return pending->started || pending->failed; });
        circuit = pending->circuit;
    }
    if (!circuit)
        return;
    circuit->pump(session);
    circuit->finish();
}

std::shared_ptr<RelayServer::Reservation> RelayServer::reservationFor(const wire::PublicKey& key) {
    std::lock_guard lock(mutex_);
    auto it = reservations_.find(key);
    return it == reservations_.end() ? nullptr : it->second;
}

wire::CircuitId RelayServer::newCircuitId() {
    wire::CircuitId id;
    randombytes_buf(id.data(), id.size());
    return id;
}

} // namespace swarm::relay

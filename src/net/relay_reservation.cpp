#include "net/relay_reservation.hpp"

#include "net/circuit_bridge.hpp"
#include "net/hole_punch.hpp"
#include "net/relay_client.hpp"
#include "wire/log.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"

#include <algorithm>

namespace swarm::net {

namespace {
const wire::Logger kLog("net");
// How often the reservation loop looks at its clock while nothing arrives.
constexpr std::chrono::milliseconds kTick{500};
// Circuits being taken at once; relay-incoming beyond this is ignored (the
// dialing side hears the relay's "did not take" reason).
constexpr std::size_t kMaxTaking = 8;
} // namespace

RelayReservation::RelayReservation(const Credentials& credentials, Endpoint relay, PeerCheck relays,
                                   PeerCheck peers, OnCircuit onCircuit, Options options)
    : creds_(credentials), relay_(std::move(relay)), relays_(std::move(relays)),
      peers_(std::move(peers)), onCircuit_(std::move(onCircuit)), options_(options) {
    note_ = "connecting to " + relayLabel(relay_);
    thread_ = std::thread([this] { run(); });
}

RelayReservation::~RelayReservation() {
    stop();
}

void RelayReservation::requestStop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (current_ != nullptr)
            current_->abort();
    }
    wake_.notify_all();
}

bool RelayReservation::finished() const {
    std::lock_guard lock(mutex_);
    return finished_;
}

void RelayReservation::stop() {
    requestStop();
    if (thread_.joinable())
        thread_.join();
}

bool RelayReservation::active() const {
    std::lock_guard lock(mutex_);
    return active_;
}

std::string RelayReservation::observed() const {
    std::lock_guard lock(mutex_);
    return observed_;
}

std::string RelayReservation::state() const {
    std::lock_guard lock(mutex_);
    return note_;
}

void RelayReservation::setState(bool active, std::string note) {
    std::lock_guard lock(mutex_);
    if (note != note_)
        kLog.info("relay reservation: {}", note);
    active_ = active;
    note_ = std::move(note);
}

void RelayReservation::run() {
    auto delay = options_.firstRetry;
    for (;;) {
        if (holdOnce())
            delay = options_.firstRetry;
        reap(false);
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, delay, [this] { return stopping_; }))
            break;
        delay = std::min(delay * 2, options_.maxRetry);
    }
    reap(true);
    std::lock_guard lock(mutex_);
    finished_ = true;
}

// One reservation connection: true if the relay granted it (so the next
// attempt starts from the shortest delay again).
bool RelayReservation::holdOnce() {
    const std::string where = relayLabel(relay_);
    Deadline deadline = SteadyClock::now() + options_.limits.handshake;
    auto fd = connectTcp(relay_, deadline);
    if (!fd) {
        setState(false, "cannot reach relay " + where + ": " + describe(fd.error()));
        return false;
    }
    auto session = Session::handshake(std::move(*fd), creds_, Role::kClient,
                                      relayCheck(relays_, relay_), options_.limits, deadline);
    if (!session) {
        setState(false, "relay " + where + " refused us: " + describe(session.error()));
        return false;
    }
    Session& s = **session;
    auto raw = s.send(wire::RelayReserve{})
                   ? s.receiveBy(deadline)
                   : std::expected<wire::RawMessage, Error>(
                         std::unexpected(Error(Error::Code::kClosed, "send failed")));
    auto reserved = raw ? s.bodyOrBreak<wire::RelayReserved>(*raw)
                        : std::expected<wire::RelayReserved, Error>(std::unexpected(raw.error()));
    if (!reserved) {
        setState(false, "relay " + where + " did not reserve: " + describe(reserved.error()));
        return false;
    }
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return true;
        current_ = &s;
        observed_ = reserved->observed;
    }
    setState(true, "reserved on relay " + where + ", which sees us at " + reserved->observed);
    Held held{s, SteadyClock::now(), SteadyClock::now(),
              std::chrono::milliseconds(std::max<std::int64_t>(reserved->ttlMs, 1000))};
    while (serveOnce(held)) {
    }
    std::lock_guard lock(mutex_);
    current_ = nullptr;
    active_ = false;
    return true;
}

// One step of a held reservation; false once it has ended.
bool RelayReservation::serveOnce(Held& held) {
    const auto now = SteadyClock::now();
    if (now - held.lastAnswer > held.ttl) {
        setState(false, "relay " + relayLabel(relay_) + " went silent");
        return false;
    }
    reap(false);
    if (now - held.lastSent >= std::min(options_.renew, held.ttl / 3)) {
        if (!held.session.send(wire::RelayReserve{}))
            return false;
        held.lastSent = now;
    }
    auto raw = held.session.receive(kTick);
    if (!raw && raw.error().code == Error::Code::kTimeout)
        return true;
    if (!raw) {
        setState(false,
                 "reservation on " + relayLabel(relay_) + " ended: " + describe(raw.error()));
        return false;
    }
    switch (raw->type) {
    case wire::MsgType::kRelayReserved:
        held.lastAnswer = SteadyClock::now();
        return held.session.bodyOrBreak<wire::RelayReserved>(*raw).has_value();
    case wire::MsgType::kRelayIncoming: {
        auto incoming = held.session.bodyOrBreak<wire::RelayIncoming>(*raw);
        if (incoming)
            takeCircuit(*incoming);
        return incoming.has_value();
    }
    default: {
        auto err = held.session.bodyOrBreak<wire::ErrorMsg>(*raw);
        setState(false, "relay " + relayLabel(relay_) +
                            " ended the reservation: " + (err ? err->message : err.error().what));
        return false;
    }
    }
}

void RelayReservation::takeCircuit(const wire::RelayIncoming& incoming) {
    auto from = wire::PeerId::parse(incoming.from); // judged
    if (!peers_ || !peers_(from->key())) {
        kLog.info("relay {}: circuit from {} ignored: not on the allow-list", relayLabel(relay_),
                  from->shortStr());
        return;
    }
    std::lock_guard lock(mutex_);
    if (stopping_)
        return;
    if (taking_.size() >= kMaxTaking) {
        kLog.warn("relay {}: circuit from {} ignored: {} circuits are being taken already",
                  relayLabel(relay_), from->shortStr(), taking_.size());
        return;
    }
    auto& taking = taking_.emplace_back();
    try {
        taking.thread = std::thread([this, &taking, incoming] { take(taking, incoming); });
    } catch (const std::system_error& e) {
        kLog.warn("relay {}: cannot take a circuit: {}", relayLabel(relay_), e.what());
        taking_.pop_back();
    }
}

void RelayReservation::take(Taking& taking, const wire::RelayIncoming& incoming) {
    {
        Deadline deadline = SteadyClock::now() + options_.limits.handshake;
        auto circuit =
            acceptCircuit(creds_, relay_, relays_, incoming.circuit, options_.limits, deadline);
        const std::string label = relayLabel(relay_);
        auto punched = circuit
                           ? punchCircuit(*circuit, options_.punch, deadline)
                           : std::expected<PunchOutcome, Error>(std::unexpected(circuit.error()));
        if (!punched) {
            kLog.info("circuit from {} {}: {}", incoming.from.substr(0, 12), label,
                      describe(punched.error()));
        } else if (punched->direct) {
            circuit->relay.reset(); // the relay is free again
            onCircuit_(std::move(punched->direct), punchedLabel(punched->peer), nullptr);
        } else if (auto started = CircuitBridge::start(std::move(circuit->relay), label)) {
            kLog.info("circuit from {} {}: no hole punch ({})", incoming.from.substr(0, 12), label,
                      punched->why);
            onCircuit_(std::move(started->socket), label, std::move(started->bridge));
        }
    }
    std::lock_guard guard(mutex_);
    taking.done = true;
}

void RelayReservation::reap(bool all) {
    std::list<Taking> finished;
    {
        std::lock_guard lock(mutex_);
        for (auto it = taking_.begin(); it != taking_.end();) {
            auto next = std::next(it);
            if (all || it->done)
                finished.splice(finished.end(), taking_, it);
            it = next;
        }
    }
    for (auto& t : finished)
        t.thread.join();
}

} // namespace swarm::net

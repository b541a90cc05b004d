#pragma once

// Peers played by the test process itself, built from the same rooms the
// real programs use, so that the test can put any bytes on the wire:
// - TestSubmitter: a submitter identity with a TLS listener and a DHT node
//   that posts signed, sealed offers and hands each accepted session to the
//   test thread, which then plays it message by message;
// - FakeWorker: a worker identity that announces a capacity record, listens
//   on its inbox and dials the offers it receives.

#include "dht/inbox.hpp"
#include "net/credentials.hpp"
#include "net/session.hpp"
#include "wire/clock.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace swarm::dht {
class Announcer;
class Node;
} // namespace swarm::dht

namespace swarm::net {
class Listener;
}

namespace swarm::e2e {
class Swarm;
}

namespace swarm::hostile {

/// The suite's one swarm (Podman service, dhtnode), made on first use and
/// torn down when the test module ends.
e2e::Swarm& theSwarm();

/// A DHT node on 127.0.0.1 bootstrapped from the swarm's dhtnode. Throws
/// std::runtime_error if it does not join within 10 s.
std::unique_ptr<dht::Node> joinSwarm(std::uint16_t dhtPort);

/// One session a TestSubmitter accepted. The listener keeps the session
/// open until this object is destroyed; only the thread holding it may use
/// the session.
class HostedSession {
public:
    struct Slot;
    explicit HostedSession(std::shared_ptr<Slot> slot);
    /// Lets the listener close the session.
    ~HostedSession();
    HostedSession(const HostedSession&) = delete;
    HostedSession& operator=(const HostedSession&) = delete;

    net::Session& session() const;
    const wire::Hello& hello() const;

private:
    std::shared_ptr<Slot> slot_;
};

/// A submitter whose every message is written by the test.
///
/// Threads: offer() and accept() may be called from any thread; the
/// listener's session threads only park in the handler until the test
/// releases them. Borrows nothing.
class TestSubmitter {
public:
    /// Loads the identity in `home`; listens on 127.0.0.1 (any port) for
    /// the peers in `workers` only; joins the DHT through 127.0.0.1:dhtPort.
    /// Throws std::runtime_error on failure.
    TestSubmitter(const std::filesystem::path& home, std::uint16_t dhtPort,
                  const std::vector<std::string>& workers);
    /// Stops the listener (parked handlers return) and the node.
    ~TestSubmitter();
    TestSubmitter(const TestSubmitter&) = delete;
    TestSubmitter& operator=(const TestSubmitter&) = delete;

    const std::string& id() const noexcept { return id_; }
    /// Posts a fresh offer (a new one-time token, naming the listener's
    /// endpoint) to `worker`'s inbox. Does not wait for the DHT.
    void offer(const std::string& worker);
    /// The next session whose hello carried a token this submitter offered
    /// to that very peer; nullptr if none arrives within `timeout`.
    std::unique_ptr<HostedSession> accept(std::chrono::milliseconds timeout);
    /// Hellos refused: unknown, spent or misdirected tokens.
    std::uint64_t tokensRefused() const;

    struct State;

private:
    std::string id_;
    wire::SystemClock clock_;
    std::shared_ptr<wire::Identity> identity_;
    std::shared_ptr<State> state_;
    std::unique_ptr<net::Credentials> credentials_;
    std::unique_ptr<net::Listener> listener_;
    std::unique_ptr<dht::Node> node_;
};

/// A worker whose every message is written by the test: it announces one
/// slot and collects the offers that pass its OfferBox.
///
/// Threads: all methods may be called from any thread.
class FakeWorker {
public:
    /// Loads the identity and trust list in `home` (made by
    /// Swarm::createWorker), joins the DHT, announces, listens on its inbox.
    FakeWorker(const std::filesystem::path& home, std::uint16_t dhtPort);
    /// Withdraws (bounded by half a second) and leaves the DHT.
    ~FakeWorker();
    FakeWorker(const FakeWorker&) = delete;
    FakeWorker& operator=(const FakeWorker&) = delete;

    const std::string& id() const noexcept { return id_; }
    /// The next offer accepted by the inbox; nullopt after `timeout`.
    std::optional<dht::ReceivedOffer> nextOffer(std::chrono::milliseconds timeout);
    /// Dials the offer's first endpoint that answers, checking the
    /// submitter's key as a worker does, and sends a hello (version 2,
    /// one slot) with the offer's token.
    std::expected<std::unique_ptr<net::Session>, net::Error>
    dial(const dht::ReceivedOffer& offer) const;

private:
    wire::Identity identity_;
    std::string id_;
    wire::TrustList trust_;
    wire::SystemClock clock_;
    net::Credentials credentials_;
    std::unique_ptr<dht::Node> node_;
    std::unique_ptr<dht::Announcer> announcer_;
    std::unique_ptr<dht::Inbox> inbox_;
    struct Offers {
        std::mutex mutex;
        std::condition_variable cv;
        std::deque<dht::ReceivedOffer> queue;
    };
    std::shared_ptr<Offers> offers_;
};

} // namespace swarm::hostile

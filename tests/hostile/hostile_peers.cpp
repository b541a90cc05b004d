#include "hostile/hostile_peers.hpp"

#include "dht/announcer.hpp"
#include "dht/node.hpp"
#include "net/dialer.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "net/socket.hpp"
#include "wire/bytes.hpp"
#include "wire/home.hpp"
#include "wire/records.hpp"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <stdexcept>

namespace swarm::hostile {

namespace {

using Token = std::array<std::uint8_t, 16>;

wire::Identity loadOrThrow(const std::filesystem::path& home) {
    auto id = wire::loadIdentity(wire::identityPath(home));
    if (!id)
        throw std::runtime_error("identity of " + home.string() + ": " + id.error().what);
    return std::move(*id);
}

wire::PeerId parseOrThrow(const std::string& text) {
    auto id = wire::PeerId::parse(text);
    if (!id)
        throw std::runtime_error("bad peer id " + text + ": " + id.error().what);
    return *id;
}

} // namespace

std::unique_ptr<dht::Node> joinSwarm(std::uint16_t dhtPort) {
    dht::NodeConfig cfg;
    cfg.bindAddress = "127.0.0.1";
    cfg.bootstrap = {dht::HostPort{"127.0.0.1", dhtPort}};
    cfg.maxPeerRequestsPerSec = -1;
    auto node = std::make_unique<dht::Node>(cfg);
    if (!node->waitForNodes(1, std::chrono::seconds(10)))
        throw std::runtime_error("a test DHT node did not join the swarm's dhtnode");
    return node;
}

// ---------------------------------------------------------------------------
// TestSubmitter

struct HostedSession::Slot {
    net::Session* session = nullptr;
    wire::Hello hello;
    bool released = false;         // guarded by the submitter's mutex
    std::function<void()> release; // set by TestSubmitter::accept
};

struct TestSubmitter::State {
    std::mutex mutex;
    std::condition_variable cv;
    bool stopping = false;
    std::map<Token, wire::PublicKey> tokens; // offered, not yet presented
    std::deque<std::shared_ptr<HostedSession::Slot>> arrived;
    std::uint64_t tokensRefused = 0;

    std::expected<void, net::Error> checkHello(const wire::PublicKey& key,
                                               const wire::Hello& hello) {
        std::lock_guard lock(mutex);
        auto it = tokens.find(hello.token);
        const bool ok = it != tokens.end() && it->second == key;
        if (it != tokens.end())
            tokens.erase(it); // one-time, whatever the verdict
        if (!ok) {
            ++tokensRefused;
            return std::unexpected(net::Error(net::Error::Code::kUntrusted, "unknown token"));
        }
        return {};
    }

    // Parks the session thread until the test is done with the session.
    void handle(net::Session& session, const wire::Hello& hello) {
        auto slot = std::make_shared<HostedSession::Slot>();
        slot->session = &session;
        slot->hello = hello;
        std::unique_lock lock(mutex);
        arrived.push_back(slot);
        cv.notify_all();
        cv.wait(lock, [&] { return slot->released || stopping; });
    }
};

HostedSession::HostedSession(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}

HostedSession::~HostedSession() {
    slot_->release();
}

net::Session& HostedSession::session() const {
    return *slot_->session;
}

const wire::Hello& HostedSession::hello() const {
    return slot_->hello;
}

TestSubmitter::TestSubmitter(const std::filesystem::path& home, std::uint16_t dhtPort,
                             const std::vector<std::string>& workers)
    : state_(std::make_shared<State>()) {
    auto identity = std::make_shared<wire::Identity>(loadOrThrow(home));
    const wire::PeerId self(identity->publicKey());
    id_ = self.str();
    wire::TrustList trust;
    for (const auto& w : workers)
        if (auto added = trust.add(parseOrThrow(w), "", self); !added)
            throw std::runtime_error("trust " + w + ": " + added.error().what);
    credentials_ = std::make_unique<net::Credentials>(*identity);
    net::ListenerConfig lc;
    lc.host = "127.0.0.1";
    auto st = state_;
    listener_ = std::make_unique<net::Listener>(
        *credentials_, lc, net::allowList(trust),
        [st](const wire::PublicKey& key, const wire::Hello& hello) {
            return st->checkHello(key, hello);
        },
        [st](net::Session& session, const wire::Hello& hello) { st->handle(session, hello); });
    node_ = joinSwarm(dhtPort);
    identity_ = std::move(identity);
}

TestSubmitter::~TestSubmitter() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->cv.notify_all();
    listener_->stop();
    node_->shutdown();
}

void TestSubmitter::offer(const std::string& worker) {
    const auto peer = parseOrThrow(worker);
    Token token{};
    wire::randomBytes(token);
    {
        std::lock_guard lock(state_->mutex);
        state_->tokens[token] = peer.key();
    }
    wire::Offer offer;
    offer.endpoints = {fmt::format("127.0.0.1:{}", listener_->port())};
    offer.token = token;
    offer.jobId = "hostile";
    dht::postOffer(*node_, *identity_, peer, offer, clock_);
}

std::unique_ptr<HostedSession> TestSubmitter::accept(std::chrono::milliseconds timeout) {
    std::unique_lock lock(state_->mutex);
    if (!state_->cv.wait_for(lock, timeout, [&] { return !state_->arrived.empty(); }))
        return nullptr;
    auto slot = state_->arrived.front();
    state_->arrived.pop_front();
    // Wakes the parked handler, which returns: the listener closes the session.
    slot->release = [st = state_, raw = slot.get()] {
        {
            std::lock_guard held(st->mutex);
            raw->released = true;
        }
        st->cv.notify_all();
    };
    return std::make_unique<HostedSession>(std::move(slot));
}

std::uint64_t TestSubmitter::tokensRefused() const {
    std::lock_guard lock(state_->mutex);
    return state_->tokensRefused;
}

// ---------------------------------------------------------------------------
// FakeWorker

FakeWorker::FakeWorker(const std::filesystem::path& home, std::uint16_t dhtPort)
    : identity_(loadOrThrow(home)), id_(wire::PeerId(identity_.publicKey()).str()),
      credentials_(identity_), offers_(std::make_shared<Offers>()) {
    auto trust = wire::TrustList::load(wire::trustPath(home));
    if (!trust)
        throw std::runtime_error(trust.error().what);
    trust_ = std::move(*trust);
    node_ = joinSwarm(dhtPort);
    dht::AnnouncerOptions ao;
    ao.withdrawWait = std::chrono::milliseconds(500);
    announcer_ = std::make_unique<dht::Announcer>(*node_, identity_, clock_, ao);
    wire::CapacityRecord record;
    record.cores = 1;
    record.memoryBytes = 1ull << 30;
    record.slots = 1;
    record.freeSlots = 1;
    record.arch = "x86_64";
    record.os = "linux";
    record.software = "hostile-fake/0";
    if (auto ok = announcer_->announce(record); !ok)
        throw std::runtime_error("announce: " + ok.error().what);
    inbox_ = std::make_unique<dht::Inbox>(*node_, identity_, trust_, clock_,
                                          [offers = offers_](dht::ReceivedOffer offer) {
                                              std::lock_guard lock(offers->mutex);
                                              offers->queue.push_back(std::move(offer));
                                              offers->cv.notify_all();
                                          });
}

FakeWorker::~FakeWorker() {
    inbox_.reset();
    announcer_.reset();
    node_->shutdown();
}

std::optional<dht::ReceivedOffer> FakeWorker::nextOffer(std::chrono::milliseconds timeout) {
    std::unique_lock lock(offers_->mutex);
    if (!offers_->cv.wait_for(lock, timeout, [&] { return !offers_->queue.empty(); }))
        return std::nullopt;
    auto offer = std::move(offers_->queue.front());
    offers_->queue.pop_front();
    return offer;
}

std::expected<std::unique_ptr<net::Session>, net::Error>
FakeWorker::dial(const dht::ReceivedOffer& offer) const {
    net::Dialer dialer(credentials_);
    wire::Hello hello;
    hello.version = wire::Hello::kWithNoWork;
    hello.token = offer.offer.token;
    hello.software = "hostile-fake/0";
    hello.slots = 1;
    std::expected<std::unique_ptr<net::Session>, net::Error> last =
        std::unexpected(net::Error(net::Error::Code::kRefused, "the offer names no endpoint"));
    for (const auto& text : offer.offer.endpoints) {
        auto endpoint = net::Endpoint::parse(text);
        if (!endpoint) {
            last = std::unexpected(endpoint.error());
            continue;
        }
        last = dialer.dial(*endpoint, net::allowListAndKey(trust_, offer.submitter.key()), hello);
        if (last)
            return last;
    }
    return last;
}

} // namespace swarm::hostile

#pragma once

// Shared pieces of the TLS integration tests: peers with identities, a
// listener with counting callbacks, and bounded waiting.

#include "net/credentials.hpp"
#include "net/dialer.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

namespace swarm::test {

struct Peer {
    wire::Identity id;
    net::Credentials creds;

    static Peer make() {
        auto id = wire::Identity::generate();
        net::Credentials creds(id);
        return Peer{std::move(id), std::move(creds)};
    }
    wire::PeerId peerId() const { return wire::PeerId(id.publicKey()); }
};

inline wire::TrustList trusting(std::initializer_list<const Peer*> peers, const Peer& self) {
    wire::TrustList list;
    int n = 0;
    for (const Peer* p : peers) {
        auto added = list.add(p->peerId(), "peer" + std::to_string(n++), self.peerId());
        if (!added)
            throw std::runtime_error(added.error().what);
    }
    return list;
}

inline std::array<std::uint8_t, 16> token(std::uint8_t fill) {
    std::array<std::uint8_t, 16> t{};
    t.fill(fill);
    return t;
}

/// Polls `done` every few milliseconds until it holds or `timeout` passes.
inline bool waitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (done())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
}

/// A listener for `server` that trusts `clients`, accepts hellos carrying
/// `goodToken`, and counts handler runs. The handler body is configurable.
struct TestServer {
    std::atomic<int> handlerRuns{0};
    std::function<void(net::Session&, const wire::Hello&)> body;
    std::unique_ptr<net::Listener> listener;

    TestServer(const Peer& server, std::initializer_list<const Peer*> clients,
               net::ListenerConfig config = {}, std::array<std::uint8_t, 16> goodToken = token(7)) {
        listener = std::make_unique<net::Listener>(
            server.creds, config, net::allowList(trusting(clients, server)),
            [goodToken](const wire::PublicKey&,
                        const wire::Hello& hello) -> std::expected<void, net::Error> {
                if (hello.token != goodToken)
                    return std::unexpected(
                        net::Error(net::Error::Code::kUntrusted, "unknown offer token"));
                return {};
            },
            [this](net::Session& s, const wire::Hello& h) {
                ++handlerRuns;
                if (body)
                    body(s, h);
            });
    }
    net::Endpoint endpoint() const { return {"127.0.0.1", listener->port()}; }
};

inline wire::Hello hello(std::array<std::uint8_t, 16> t = token(7)) {
    wire::Hello h;
    h.token = t;
    h.software = "swarm-test";
    h.slots = 1;
    return h;
}

/// A progress message that passes the judge, for tests that need any
/// small message.
inline wire::Progress progress(std::uint32_t replica = 0) {
    wire::Progress p;
    p.unitId = "echo";
    p.replica = replica;
    p.state = "running";
    return p;
}

/// Echo body: answers each RequestWork with a Progress naming the slots.
inline void echoBody(net::Session& s, const wire::Hello&) {
    for (;;) {
        auto req = s.receiveAs<wire::RequestWork>(std::chrono::seconds(10));
        if (!req)
            return;
        if (!s.send(progress(req->slots)))
            return;
    }
}

} // namespace swarm::test

// One peer of the network lab's connection test (connect_test.cpp), in one
// of three roles:
//
//   connect_peer relay HOST PORT
//       A relay (relay::RelayServer) for the other two peers. Prints
//       "ready", serves until its stdin closes, then prints
//       "relayed <bytes>"; each line "stats" on its stdin gets
//       "circuits <open now>".
//   connect_peer serve HOST PORT [RELAY_HOST:RELAY_PORT]
//       The submitter's side: a listener on HOST:PORT, and with a relay a
//       reservation on it (circuits are hole-punched where both ends can).
//       Answers each request-work with a progress; counts the bytes of
//       blob-chunks and answers a bye with a progress whose replica is the
//       MiB it got. Prints "ready" (with a relay: once reserved), serves
//       until its stdin closes.
//   connect_peer dial ENDPOINT COUNT MIB
//       The worker's side: COUNT sessions to the server, one after another,
//       at ENDPOINT ("HOST:PORT", or "via HOST:PORT" for the relay there),
//       each timed from the start of the dial until the session is
//       authenticated and a first request has its answer. Prints
//       "dial <path> <ms>" for each, keeps them all open and prints
//       "holding" until its stdin closes; then, with MIB > 0, one more
//       session sends MIB MiB and prints "throughput <path> <MiB/s>". Exits
//       0, or prints "failed <error>" and exits 1.
//
// The three peers' keys are derived from their role names, and each trusts
// the other two: the test needs no key files. Exit status 2: bad arguments.

#include "named_peer.hpp"
#include "net/dialer.hpp"
#include "net/listener.hpp"
#include "net/peer_check.hpp"
#include "net/relay_reservation.hpp"
#include "relay/relay_server.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <sodium.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

using namespace swarm;
using swarm::netlab::identityOf;
using swarm::netlab::say;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 256 * 1024;

// The other two roles, trusted by `self`.
wire::TrustList othersOf(std::string_view self) {
    wire::TrustList list;
    const auto me = wire::PeerId(identityOf(self).publicKey());
    for (std::string_view role : {"relay", "serve", "dial"})
        if (role != self)
            if (auto added =
                    list.add(wire::PeerId(identityOf(role).publicKey()), std::string(role), me);
                !added)
                throw std::runtime_error(added.error().what);
    return list;
}

void waitForStdinToClose() {
    std::string ignored;
    while (std::getline(std::cin, ignored)) {
    }
}

std::uint16_t parsePort(std::string_view text) {
    std::uint16_t port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size())
        throw std::invalid_argument("bad port '" + std::string(text) + "'");
    return port;
}

int runRelay(const std::string& host, std::uint16_t port) {
    const auto id = identityOf("relay");
    net::Credentials creds(id);
    relay::RelayLimits limits;
    limits.circuits = 4096; // the dialing peer holds all its sessions at once
    relay::RelayServer server(creds, net::allowList(othersOf("relay")), host, port, limits);
    say("ready");
    for (std::string line; std::getline(std::cin, line);)
        if (line == "stats")
            say("circuits " + std::to_string(server.stats().circuits));
    say("relayed " + std::to_string(server.stats().bytes));
    return 0;
}

wire::Progress progress(std::uint32_t replica) {
    wire::Progress p;
    p.unitId = "bench";
    p.replica = replica;
    p.state = "running";
    return p;
}

// One session: requests are answered at once, chunks counted until a bye.
void serveSession(net::Session& s, const wire::Hello&) {
    std::uint64_t bytes = 0;
    for (;;) {
        auto raw = s.receive(30s);
        if (!raw)
            return;
        if (raw->type == wire::MsgType::kBlobChunk) {
            auto chunk = s.bodyOrBreak<wire::BlobChunk>(*raw);
            if (!chunk)
                return;
            bytes += chunk->data.size();
            continue;
        }
        if (raw->type == wire::MsgType::kBye) {
            (void)s.send(progress(static_cast<std::uint32_t>(bytes >> 20)));
            continue;
        }
        auto req = s.bodyOrBreak<wire::RequestWork>(*raw);
        if (!req || !s.send(progress(req->slots)))
            return;
    }
}

int runServe(const std::string& host, std::uint16_t port, const std::string& relayAt) {
    const auto id = identityOf("serve");
    net::Credentials creds(id);
    const auto trust = othersOf("serve");
    net::ListenerConfig config;
    config.host = host;
    config.port = port;
    config.maxConnections = 1024;
    net::Listener listener(
        creds, config, net::allowList(trust),
        [](const wire::PublicKey&, const wire::Hello&) -> std::expected<void, net::Error> {
            return {};
        },
        serveSession);
    std::unique_ptr<net::RelayReservation> reservation;
    if (!relayAt.empty()) {
        auto endpoint = net::Endpoint::parse(relayAt);
        if (!endpoint)
            throw std::invalid_argument("bad relay '" + relayAt + "'");
        endpoint->relay = wire::PeerId(identityOf("relay").publicKey()).str();
        reservation = std::make_unique<net::RelayReservation>(
            creds, *endpoint, net::allowList(trust), net::allowList(trust),
            [&listener](base::UniqueFd socket, std::string label, std::shared_ptr<void> keep) {
                listener.adopt(std::move(socket), std::move(label), std::move(keep));
            });
        for (int i = 0; i < 200 && !reservation->active(); ++i)
            std::this_thread::sleep_for(50ms);
        if (!reservation->active()) {
            say("failed no reservation: " + reservation->state());
            return 1;
        }
    }
    say("ready");
    waitForStdinToClose();
    return 0;
}

// "via HOST:PORT": the relay there; else the server directly.
net::Endpoint endpointOf(std::string_view text) {
    const bool via = text.starts_with("via ");
    auto endpoint = net::Endpoint::parse(via ? text.substr(4) : text);
    if (!endpoint)
        throw std::invalid_argument("bad endpoint '" + std::string(text) + "'");
    if (via)
        endpoint->relay = wire::PeerId(identityOf("relay").publicKey()).str();
    return *endpoint;
}

std::expected<std::unique_ptr<net::Session>, net::Error> dialOnce(const net::Dialer& dialer,
                                                                  const net::Endpoint& endpoint) {
    const auto server = identityOf("serve").publicKey();
    auto session =
        dialer.dial(endpoint, net::allowListAndKey(othersOf("dial"), server), wire::Hello{});
    if (!session)
        return session;
    if (auto sent = (*session)->send(wire::RequestWork{.slots = 1}); !sent)
        return std::unexpected(sent.error());
    if (auto answer = (*session)->receiveAs<wire::Progress>(10s); !answer)
        return std::unexpected(answer.error());
    return session;
}

double msSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// Sends `mib` MiB on one session and waits for the server to have them all.
std::expected<double, net::Error> sendMiB(net::Session& s, std::uint32_t mib) {
    wire::BlobChunk chunk;
    chunk.digest.fill(1);
    chunk.total = std::uint64_t{mib} << 20;
    chunk.data.assign(kChunk, 0x5a);
    auto start = std::chrono::steady_clock::now();
    for (chunk.offset = 0; chunk.offset < chunk.total; chunk.offset += kChunk)
        if (auto sent = s.send(chunk); !sent)
            return std::unexpected(sent.error());
    if (auto sent = s.send(wire::Bye{}); !sent)
        return std::unexpected(sent.error());
    auto got = s.receiveAs<wire::Progress>(120s);
    if (!got)
        return std::unexpected(got.error());
    if (got->replica != mib)
        return std::unexpected(net::Error(net::Error::Code::kProtocol,
                                          "the server got " + std::to_string(got->replica) +
                                              " MiB of " + std::to_string(mib)));
    return mib / (msSince(start) / 1000.0);
}

int runDial(const std::string& target, int count, std::uint32_t mib) {
    const auto id = identityOf("dial");
    net::Credentials creds(id);
    const auto trust = othersOf("dial");
    net::Dialer dialer(creds, {},
                       net::RelayRoute{net::allowList(trust), identityOf("serve").publicKey()});
    const auto endpoint = endpointOf(target);
    std::vector<std::unique_ptr<net::Session>> held;
    for (int i = 0; i < count; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto session = dialOnce(dialer, endpoint);
        if (!session) {
            say("failed " + net::describe(session.error()));
            return 1;
        }
        say("dial " + std::string(net::sessionPath((*session)->peerAddress())) + " " +
            std::to_string(msSince(start)));
        held.push_back(std::move(*session));
    }
    say("holding");
    waitForStdinToClose();
    held.clear();
    if (mib == 0)
        return 0;
    auto session = dialOnce(dialer, endpoint);
    auto rate = session ? sendMiB(**session, mib) : std::unexpected(session.error());
    if (!rate) {
        say("failed " + net::describe(rate.error()));
        return 1;
    }
    say("throughput " + std::string(net::sessionPath((*session)->peerAddress())) + " " +
        std::to_string(*rate));
    return 0;
}

} // namespace

int main(int argc, char** argv) try {
    if (sodium_init() < 0) {
        say("failed libsodium did not start");
        return 1;
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 3 && args[0] == "relay")
        return runRelay(args[1], parsePort(args[2]));
    if ((args.size() == 3 || args.size() == 4) && args[0] == "serve")
        return runServe(args[1], parsePort(args[2]), args.size() == 4 ? args[3] : "");
    if (args.size() == 4 && args[0] == "dial")
        return runDial(args[1], std::stoi(args[2]),
                       static_cast<std::uint32_t>(std::stoul(args[3])));
    std::fprintf(stderr, "usage: connect_peer relay HOST PORT | serve HOST PORT [RELAY] | "
                         "dial ENDPOINT COUNT MIB\n");
    return 2;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "connect_peer: %s\n", e.what());
    return 2;
} catch (const std::exception& e) {
    say(std::string("failed ") + e.what());
    return 1;
}

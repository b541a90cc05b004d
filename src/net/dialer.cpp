#include "net/dialer.hpp"

#include "net/hole_punch.hpp"
#include "wire/log.hpp"

#include <condition_variable>
#include <mutex>

namespace swarm::net {

std::expected<std::unique_ptr<Session>, Error> Dialer::connect(const Endpoint& endpoint,
                                                               PeerCheck check) const {
    Deadline deadline = SteadyClock::now() + limits_.handshake;
    if (!endpoint.relay.empty()) {
        if (!route_.relays)
            return std::unexpected(
                Error(Error::Code::kUntrusted, "relayed endpoint, but no relay route here"));
        auto circuit =
            connectCircuit(creds_, endpoint, route_.relays, route_.target, limits_, deadline);
        if (!circuit)
            return std::unexpected(circuit.error());
        auto punched = punchCircuit(*circuit, route_.punch, deadline);
        if (!punched)
            return std::unexpected(punched.error());
        if (!punched->direct) {
            wire::Logger("net").info("{}: no hole punch ({})", relayLabel(endpoint), punched->why);
            return sessionOverCircuit(std::move(*circuit), endpoint, creds_, Role::kClient,
                                      std::move(check), limits_, deadline);
        }
        circuit->relay.reset(); // the relay is free again
        auto session = Session::handshake(std::move(punched->direct), creds_, Role::kClient,
                                          std::move(check), limits_, deadline);
        if (session)
            (*session)->setPeerAddress(punchedLabel(punched->peer));
        return session;
    }
    auto fd = connectTcp(endpoint, deadline);
    if (!fd)
        return std::unexpected(fd.error());
    return Session::handshake(std::move(*fd), creds_, Role::kClient, std::move(check), limits_,
                              deadline);
}

std::expected<std::unique_ptr<Session>, Error>
Dialer::dial(const Endpoint& endpoint, PeerCheck check, const wire::Hello& hello) const {
    auto session = connect(endpoint, std::move(check));
    if (!session) {
        wire::Logger("net").info("dial {} failed: {}", endpoint.str(), describe(session.error()));
        return session;
    }
    if (auto sent = (*session)->send(hello); !sent)
        return std::unexpected(sent.error());
    return session;
}

namespace {

// The attempts of one dialFirst(), shared with their threads.
struct Race {
    std::mutex mutex;
    std::condition_variable cv;
    bool decided = false; // a winner was taken: later sessions are closed
    std::unique_ptr<Session> winner;
    std::size_t index = 0;
    std::size_t failed = 0;
    std::vector<std::string> errors;
};

} // namespace

// Only connect and handshake race; the winner alone sends the hello, whose
// token is good for one session.
Dialer::FirstSession Dialer::dialFirst(const std::vector<Endpoint>& endpoints,
                                       const PeerCheck& check, const wire::Hello& hello,
                                       std::chrono::milliseconds stagger) const {
    auto race = std::make_shared<Race>();
    std::vector<std::future<void>> attempts;
    std::unique_lock lock(race->mutex);
    for (std::size_t i = 0; i < endpoints.size() && !race->winner; ++i) {
        attempts.push_back(
            std::async(std::launch::async, [self = *this, race, i, e = endpoints[i], check] {
                auto got = self.connect(e, check);
                std::unique_lock guard(race->mutex);
                if (got && !race->decided && !race->winner) {
                    race->winner = std::move(*got);
                    race->index = i;
                } else if (!got) {
                    race->errors.push_back(e.str() + ": " + describe(got.error()));
                    ++race->failed;
                }
                race->cv.notify_all();
                guard.unlock();
                if (got && *got) // another won: this one is not used
                    (*got)->close();
            }));
        // The next attempt starts after `stagger`, or as soon as every
        // attempt so far has failed.
        race->cv.wait_for(lock, stagger, [&] { return race->winner || race->failed > i; });
    }
    race->cv.wait(lock, [&] { return race->winner || race->failed == attempts.size(); });
    race->decided = true;
    FirstSession out;
    out.session = std::move(race->winner);
    out.index = race->index;
    out.errors = race->errors;
    lock.unlock();
    for (auto& a : attempts)
        if (a.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            out.stragglers.push_back(std::move(a));
    if (out.session) {
        if (auto sent = out.session->send(hello); !sent) {
            out.errors.push_back(endpoints[out.index].str() + ": " + describe(sent.error()));
            out.session.reset();
        }
    }
    return out;
}

} // namespace swarm::net

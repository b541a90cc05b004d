// punchTcp on loopback: two punches toward each other connect; a punch
// nobody returns ends by its deadline with a clear error (refused or no
// answer), without spinning. Loopback answers a stray SYN with a RST, where
// a home router drops it; SilentPort makes a port drop them, so that the
// two punches need not start within microseconds of each other. Real
// sockets and real time, so these run in the integration suite.

#include "net/punch.hpp"

#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <future>
#include <regex>
#include <string>
#include <thread>

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// CPU time this thread has used.
std::chrono::microseconds threadCpu() {
    rusage ru{};
    ::getrusage(RUSAGE_THREAD, &ru);
    auto total = [](const timeval& t) { return t.tv_sec * 1000000L + t.tv_usec; };
    return std::chrono::microseconds(total(ru.ru_utime) + total(ru.ru_stime));
}

// Milliseconds, for Boost.Test to print.
long ms(std::chrono::nanoseconds d) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// Why a punch failed ("" when it did not): Boost.Test evaluates a message
// even when its check passes.
std::string whyNot(const std::expected<base::UniqueFd, net::Error>& r) {
    return r ? "" : net::describe(r.error());
}

// A port of 127.0.0.1 held by a reusable socket for the whole test, as a
// peer's connection to a relay would hold it. A SYN to it that no punch
// from it is waiting for gets a RST: the port refuses.
struct HeldPort {
    base::UniqueFd fd = net::bindReusable("127.0.0.1", 0);
    std::uint16_t port = net::localPort(fd.get());
};

// A port of 127.0.0.1 that drops a SYN no punch from it is waiting for, as
// a home router drops unsolicited inbound packets: a reusable listener on
// it whose accept queue is full (the kernel drops a SYN to such a listener;
// a SYN that matches a connecting socket still reaches that socket).
struct SilentPort {
    HeldPort held;
    base::UniqueFd filler;

    SilentPort() {
        BOOST_REQUIRE(::listen(held.fd.get(), 0) == 0);
        auto deadline = net::SteadyClock::now() + 5s;
        auto c = net::connectTcp({"127.0.0.1", held.port}, deadline);
        BOOST_REQUIRE_MESSAGE(c.has_value(), whyNot(c));
        filler = std::move(*c);
        pollfd queued{held.fd.get(), POLLIN, 0};
        BOOST_REQUIRE(::poll(&queued, 1, net::millisUntil(deadline)) == 1);
    }
    std::uint16_t port() const { return held.port; }
};

} // namespace

BOOST_AUTO_TEST_SUITE(punch)

BOOST_AUTO_TEST_CASE(bind_reusable_shares_a_port_between_sockets) {
    HeldPort held;
    BOOST_TEST(held.port != 0);
    auto again = net::bindReusable("127.0.0.1", held.port);
    BOOST_TEST(net::localPort(again.get()) == held.port);
    auto wildcard = net::bindReusable("", held.port);
    BOOST_TEST(net::localPort(wildcard.get()) == held.port);
}

BOOST_AUTO_TEST_CASE(two_punches_toward_each_other_connect_and_exchange_bytes) {
    SilentPort a;
    SilentPort b;
    auto start = net::SteadyClock::now();
    auto deadline = start + 5s;
    // a's first SYN is dropped at b, which starts 300 ms later: b's SYN then
    // meets a's connecting socket (simultaneous open), at b's first attempt.
    auto other = std::async(std::launch::async, [&] {
        std::this_thread::sleep_for(300ms);
        return net::punchTcp(b.port(), {"127.0.0.1", a.port()}, deadline);
    });
    auto mine = net::punchTcp(a.port(), {"127.0.0.1", b.port()}, deadline);
    auto theirs = other.get();
    auto took = net::SteadyClock::now() - start;
    BOOST_REQUIRE_MESSAGE(mine.has_value(), whyNot(mine));
    BOOST_REQUIRE_MESSAGE(theirs.has_value(), whyNot(theirs));
    BOOST_TEST(net::peerAddress(mine->get()) == "127.0.0.1:" + std::to_string(b.port()));
    BOOST_TEST(net::peerAddress(theirs->get()) == "127.0.0.1:" + std::to_string(a.port()));
    BOOST_TEST(ms(took) < 1000);

    char got[5] = {};
    BOOST_REQUIRE(net::writeAll(mine->get(), "ping", 4, deadline).has_value());
    BOOST_REQUIRE(net::readAll(theirs->get(), got, 4, deadline).has_value());
    BOOST_TEST(std::string(got) == "ping");
    BOOST_REQUIRE(net::writeAll(theirs->get(), "pong", 4, deadline).has_value());
    BOOST_REQUIRE(net::readAll(mine->get(), got, 4, deadline).has_value());
    BOOST_TEST(std::string(got) == "pong");
}

BOOST_AUTO_TEST_CASE(a_punch_nobody_returns_is_refused_by_the_deadline_without_spinning) {
    HeldPort a;
    HeldPort b; // bound, never connecting: its host answers every SYN with a RST
    auto start = net::SteadyClock::now();
    auto cpu = threadCpu();
    auto r = net::punchTcp(a.port, {"127.0.0.1", b.port}, start + 600ms, 100ms);
    auto took = net::SteadyClock::now() - start;
    auto used = threadCpu() - cpu;

    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == net::Error::Code::kRefused);
    BOOST_TEST_MESSAGE(net::describe(r.error()));
    std::smatch m;
    static const std::regex form(R"(^127\.0\.0\.1:(\d+) refused (\d+) of (\d+) attempts within )"
                                 R"(\d+ ms \(last: Connection refused\)$)");
    BOOST_REQUIRE_MESSAGE(std::regex_match(r.error().what, m, form), r.error().what);
    BOOST_TEST(std::stoi(m[1]) == b.port);
    BOOST_TEST(m[2] == m[3]);
    // One attempt every 100 ms over 600 ms, each waited for.
    BOOST_TEST(std::stoi(m[3]) >= 4);
    BOOST_TEST(std::stoi(m[3]) <= 8);
    BOOST_TEST(ms(took) >= 550);
    BOOST_TEST(ms(took) < 900);
    BOOST_TEST(ms(used) < 100);
}

BOOST_AUTO_TEST_CASE(a_punch_nothing_answers_times_out_by_the_deadline) {
    HeldPort a;
    SilentPort b;
    auto start = net::SteadyClock::now();
    auto r = net::punchTcp(a.port, {"127.0.0.1", b.port()}, start + 1500ms, 100ms);
    auto took = net::SteadyClock::now() - start;
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == net::Error::Code::kTimeout);
    BOOST_TEST_MESSAGE(net::describe(r.error()));
    // Attempts of 1 s (kPunchAttemptTimeout): 0-1000 ms, 1100-1500 ms.
    auto expected = "no answer from 127.0.0.1:" + std::to_string(b.port()) + " within ";
    BOOST_TEST(r.error().what.starts_with(expected), r.error().what);
    BOOST_TEST(r.error().what.ends_with(" ms (2 attempts)"), r.error().what);
    BOOST_TEST(ms(took) >= 1450);
    BOOST_TEST(ms(took) < 1800);
}

BOOST_AUTO_TEST_CASE(a_port_held_without_reuseport_fails_at_once) {
    auto listener = net::listenTcp("127.0.0.1", 0);
    auto port = net::localPort(listener.get());
    HeldPort b;
    auto start = net::SteadyClock::now();
    auto r = net::punchTcp(port, {"127.0.0.1", b.port}, start + 5s);
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == net::Error::Code::kIo);
    BOOST_TEST(r.error().what.find("cannot bind port " + std::to_string(port)) != std::string::npos,
               r.error().what);
    BOOST_TEST(ms(net::SteadyClock::now() - start) < 1000);
}

BOOST_AUTO_TEST_SUITE_END()

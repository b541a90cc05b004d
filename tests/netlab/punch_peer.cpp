// One side of a TCP hole punch, for the network lab's punch test:
//
//   punch_peer LOCAL_PORT REMOTE_HOST:PORT DEADLINE_MS
//
// Punches from LOCAL_PORT toward the other side's public endpoint
// (net::punchTcp), then sends 8 bytes and reads the other side's 8. Prints
// one line: "ok <ms to connect> <peer address>" and exits 0, or
// "failed <error>" and exits 1 (2 for bad arguments).

#include "net/punch.hpp"

#include <charconv>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

using namespace swarm;

namespace {

constexpr std::string_view kHello = "punched\n";

int fail(const std::string& what) {
    std::printf("failed %s\n", what.c_str());
    return 1;
}

template <typename T> bool parseNumber(std::string_view text, T& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
}

// Sends our greeting and reads the other side's.
std::expected<void, net::Error> exchange(int fd, net::Deadline deadline) {
    if (auto w = net::writeAll(fd, kHello.data(), kHello.size(), deadline); !w)
        return w;
    std::string got(kHello.size(), '\0');
    if (auto r = net::readAll(fd, got.data(), got.size(), deadline); !r)
        return r;
    if (got != kHello)
        return std::unexpected(net::Error(net::Error::Code::kProtocol, "unexpected greeting"));
    return {};
}

int run(std::uint16_t port, const net::Endpoint& remote, std::chrono::milliseconds limit) {
    auto start = net::SteadyClock::now();
    auto fd = net::punchTcp(port, remote, start + limit);
    if (!fd)
        return fail(net::describe(fd.error()));
    auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(net::SteadyClock::now() - start);
    if (auto e = exchange(fd->get(), net::SteadyClock::now() + limit); !e)
        return fail("exchange: " + net::describe(e.error()));
    std::printf("ok %lld %s\n", static_cast<long long>(took.count()),
                net::peerAddress(fd->get()).c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::expected<net::Endpoint, net::Error> remote =
        std::unexpected(net::Error(net::Error::Code::kProtocol, "no endpoint"));
    if (argc == 4)
        remote = net::Endpoint::parse(argv[2]);
    std::uint16_t port = 0;
    unsigned ms = 0;
    if (!remote || !parseNumber(std::string_view(argv[1]), port) ||
        !parseNumber(std::string_view(argv[3]), ms)) {
        std::fprintf(stderr, "usage: punch_peer LOCAL_PORT REMOTE_HOST:PORT DEADLINE_MS\n");
        return 2;
    }
    try {
        return run(port, *remote, std::chrono::milliseconds(ms));
    } catch (const std::exception& e) {
        return fail(std::string("error: ") + e.what());
    }
}

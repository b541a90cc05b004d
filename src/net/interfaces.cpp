#include "net/interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace swarm::net {

namespace {

std::optional<LocalAddress> describe(const sockaddr* sa) {
    char text[INET6_ADDRSTRLEN] = {};
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        const auto a = ntohl(in->sin_addr.s_addr);
        if ((a >> 16) == 0xa9fe) // 169.254.0.0/16
            return std::nullopt;
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        return LocalAddress{text, false, (a >> 24) == 127};
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return std::nullopt;
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        return LocalAddress{text, true, static_cast<bool>(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))};
    }
    return std::nullopt;
}

} // namespace

std::vector<LocalAddress> localAddresses() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return {};
    std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, &freeifaddrs);
    std::vector<LocalAddress> out;
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0)
            continue;
        auto a = describe(i->ifa_addr);
        if (a &&
            std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.host == a->host; }))
            out.push_back(std::move(*a));
    }
    std::stable_partition(out.begin(), out.end(), [](const auto& a) { return a.ipv6; });
    return out;
}

bool isLoopbackHost(const std::string& host) {
    if (host == "localhost" || host == "::1")
        return true;
    in_addr a{};
    return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool isAnyHost(const std::string& host) {
    return host.empty() || host == "0.0.0.0" || host == "::" || host == "*";
}

} // namespace swarm::net

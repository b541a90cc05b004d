#pragma once

#include <string>
#include <vector>

namespace swarm::net {

/// One address of this host's network interfaces.
struct LocalAddress {
    std::string host; ///< numeric, without brackets or zone
    bool ipv6 = false;
    bool loopback = false; ///< 127.0.0.0/8 or ::1
};

/// The addresses of the interfaces that are up, IPv6 first, without
/// link-local ones (fe80::/10, 169.254.0.0/16): a peer elsewhere could not
/// use them. Empty if the host has none or they cannot be read.
std::vector<LocalAddress> localAddresses();

/// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

/// True for "", "0.0.0.0", "::" and "*": listen on every interface.
bool isAnyHost(const std::string& host);

} // namespace swarm::net

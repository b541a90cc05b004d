#pragma once

// Internal to src/dht: the OpenDHT socket over a SimNetwork (node.cpp).

#include "dht/sim_network.hpp"

#include <opendht/network_utils.h>

#include <cstdint>
#include <memory>
#include <string>

namespace swarm::dht {

/// A datagram socket bound to `address`:`port` (0 picks 4222) on `network`.
/// Throws std::runtime_error if the address is not IPv4 or already bound.
std::unique_ptr<::dht::net::DatagramSocket>
makeSimSocket(SimNetwork& network, const std::string& address, std::uint16_t port);

} // namespace swarm::dht

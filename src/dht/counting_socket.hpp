#pragma once

// Internal to src/dht: an OpenDHT UDP socket that counts what it carries
// (NodeConfig::countTraffic, node.cpp).

#include "dht/node.hpp"

#include <opendht/network_utils.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace swarm::dht {

/// Datagram counters, shared by a CountingSocket and its Node (so that they
/// can be read after OpenDHT has destroyed the socket).
struct TrafficCounters {
    std::atomic<std::uint64_t> packetsSent{0}, bytesSent{0};
    std::atomic<std::uint64_t> packetsReceived{0}, bytesReceived{0};

    NodeTraffic snapshot() const;
};

/// OpenDHT's own UdpSocket, bound to `bind4`, with every datagram sent and
/// received counted on the way.
class CountingSocket final : public ::dht::net::DatagramSocket {
public:
    CountingSocket(const ::dht::SockAddr& bind4, std::shared_ptr<TrafficCounters> counters);
    ~CountingSocket() override;

    int sendTo(const ::dht::SockAddr& dest, const std::uint8_t* data, std::size_t size,
               bool replied) override;
    const ::dht::SockAddr& getBoundRef(sa_family_t family) const override;
    bool hasIPv4() const override;
    bool hasIPv6() const override;
    void stop() override;

private:
    std::shared_ptr<TrafficCounters> counters_;
    std::unique_ptr<::dht::net::UdpSocket> inner_;
};

} // namespace swarm::dht

#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace swarm::dht {

/// How a SimNetwork delivers datagrams.
struct SimNetworkOptions {
    /// Round-trip time: every datagram is delivered rttMs / 2 after it is sent
    /// (plus jitter).
    double rttMs = 50.0;
    /// Extra one-way delay, uniform in [0, jitterMs], drawn per datagram.
    double jitterMs = 0.0;
    /// Probability that a datagram is dropped, in [0, 1].
    double loss = 0.0;
    /// Seed of the delay/loss random generator.
    std::uint64_t seed = 1;
};

/// Datagram counters (all nodes, or one address).
struct SimTraffic {
    std::uint64_t packetsSent = 0;
    std::uint64_t bytesSent = 0;
    std::uint64_t packetsReceived = 0;
    std::uint64_t bytesReceived = 0;
    std::uint64_t packetsDropped = 0; ///< lost on purpose or to an unknown address
};

/// An in-process IPv4 datagram network for DHT nodes (NodeConfig::simNetwork):
/// no sockets, no file descriptors, so thousands of nodes fit in one process,
/// and round trips, jitter and loss are whatever the options say (this kernel
/// has no netem). One thread delivers every datagram when it is due.
/// Addresses are the nodes' bind addresses (IPv4 text, e.g. "10.0.3.7", not
/// 127/8: OpenDHT treats loopback node addresses specially); a port of 0
/// becomes 4222. Thread-safe. Must outlive the nodes using it.
class SimNetwork {
public:
    explicit SimNetwork(SimNetworkOptions options = {});
    /// Stops the delivery thread; pending datagrams are dropped.
    ~SimNetwork();
    SimNetwork(const SimNetwork&) = delete;
    SimNetwork& operator=(const SimNetwork&) = delete;

    const SimNetworkOptions& options() const noexcept;
    /// Counters over every datagram so far.
    SimTraffic total() const;
    /// Counters of the datagrams sent from / delivered to one address.
    SimTraffic trafficOf(const std::string& address) const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
    friend struct SimNetworkAccess;
};

} // namespace swarm::dht

#include "dht/counting_socket.hpp"

namespace swarm::dht {

NodeTraffic TrafficCounters::snapshot() const {
    return NodeTraffic{packetsSent.load(), bytesSent.load(), packetsReceived.load(),
                       bytesReceived.load()};
}

CountingSocket::CountingSocket(const ::dht::SockAddr& bind4,
                               std::shared_ptr<TrafficCounters> counters)
    : counters_(std::move(counters)),
      inner_(std::make_unique<::dht::net::UdpSocket>(bind4, ::dht::SockAddr{})) {
    inner_->setOnReceive([this](::dht::net::PacketList&& packets) {
        for (const auto& p : packets) {
            ++counters_->packetsReceived;
            counters_->bytesReceived += p.data.size();
        }
        onReceived(std::move(packets));
        return ::dht::net::PacketList{};
    });
}

CountingSocket::~CountingSocket() {
    stop();
}

int CountingSocket::sendTo(const ::dht::SockAddr& dest, const std::uint8_t* data, std::size_t size,
                           bool replied) {
    int rc = inner_->sendTo(dest, data, size, replied);
    if (rc == 0) {
        ++counters_->packetsSent;
        counters_->bytesSent += size;
    }
    return rc;
}

const ::dht::SockAddr& CountingSocket::getBoundRef(sa_family_t family) const {
    return inner_->getBoundRef(family);
}

bool CountingSocket::hasIPv4() const {
    return inner_->hasIPv4();
}

bool CountingSocket::hasIPv6() const {
    return inner_->hasIPv6();
}

void CountingSocket::stop() {
    inner_->stop();
}

} // namespace swarm::dht

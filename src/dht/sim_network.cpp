#include "dht/sim_network.hpp"

#include "dht/sim_socket.hpp"

#include <arpa/inet.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace swarm::dht {

namespace {

using Steady = std::chrono::steady_clock;

std::uint64_t keyOf(std::uint32_t addr, std::uint16_t port) {
    return (static_cast<std::uint64_t>(addr) << 16) | port;
}

std::uint32_t parseIpv4(const std::string& text) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1)
        throw std::runtime_error("sim network: '" + text + "' is not an IPv4 address");
    return ntohl(a.s_addr);
}

class SimSocket;

/// What the delivery thread holds of a socket: cleared when it closes.
struct Port {
    std::mutex mutex;
    SimSocket* socket = nullptr;
};

struct Datagram {
    Steady::time_point due;
    std::uint64_t order = 0;
    std::uint64_t to = 0;
    ::dht::SockAddr from;
    ::dht::Blob data;
};

struct Later {
    bool operator()(const Datagram& a, const Datagram& b) const {
        return a.due != b.due ? a.due > b.due : a.order > b.order;
    }
};

} // namespace

struct SimNetwork::Impl {
    SimNetworkOptions options;
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::unordered_map<std::uint64_t, std::shared_ptr<Port>> ports;
    std::priority_queue<Datagram, std::vector<Datagram>, Later> queue;
    std::uint64_t order = 0;
    std::mt19937_64 rng;
    SimTraffic total;
    std::map<std::uint32_t, SimTraffic> byAddress;
    bool stopping = false;
    std::thread thread;

    void send(std::uint64_t fromKey, const ::dht::SockAddr& from, const ::dht::SockAddr& dest,
              const std::uint8_t* data, std::size_t size);
    void run();
};

namespace {

class SimSocket final : public ::dht::net::DatagramSocket {
public:
    SimSocket(std::shared_ptr<SimNetwork::Impl> net, std::uint32_t addr, std::uint16_t port)
        : net_(std::move(net)), key_(keyOf(addr, port)), port_(std::make_shared<Port>()) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sin.sin_addr.s_addr = htonl(addr);
        bound4_ = ::dht::SockAddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
        port_->socket = this;
        std::lock_guard netLock(net_->mutex);
        if (!net_->ports.emplace(key_, port_).second)
            throw std::runtime_error("sim network: address already bound");
    }
    ~SimSocket() override { stop(); }

    int sendTo(const ::dht::SockAddr& dest, const std::uint8_t* data, std::size_t size,
               bool) override {
        net_->send(key_, bound4_, dest, data, size);
        return 0;
    }
    const ::dht::SockAddr& getBoundRef(sa_family_t family) const override {
        return family == AF_INET6 ? bound6_ : bound4_;
    }
    bool hasIPv4() const override { return true; }
    bool hasIPv6() const override { return false; }
    void stop() override {
        {
            std::lock_guard portLock(port_->mutex);
            port_->socket = nullptr;
        }
        std::lock_guard netLock(net_->mutex);
        auto it = net_->ports.find(key_);
        if (it != net_->ports.end() && it->second == port_)
            net_->ports.erase(it);
    }

    // Called by the delivery thread only, with the port's mutex held.
    void deliver(Datagram& d) {
        auto packets = getNewPacket();
        auto& p = packets.front();
        p.data = std::move(d.data);
        p.from = d.from;
        p.received = ::dht::clock::now();
        onReceived(std::move(packets));
    }

private:
    std::shared_ptr<SimNetwork::Impl> net_;
    std::uint64_t key_;
    std::shared_ptr<Port> port_;
    ::dht::SockAddr bound4_;
    ::dht::SockAddr bound6_;
};

} // namespace

void SimNetwork::Impl::send(std::uint64_t fromKey, const ::dht::SockAddr& from,
                            const ::dht::SockAddr& dest, const std::uint8_t* data,
                            std::size_t size) {
    if (dest.getFamily() != AF_INET)
        return;
    auto* sin = reinterpret_cast<const sockaddr_in*>(dest.get());
    auto toAddr = ntohl(sin->sin_addr.s_addr);
    auto to = keyOf(toAddr, ntohs(sin->sin_port));
    std::lock_guard lock(mutex);
    if (stopping)
        return;
    auto& mine = byAddress[static_cast<std::uint32_t>(fromKey >> 16)];
    mine.packetsSent++;
    mine.bytesSent += size;
    total.packetsSent++;
    total.bytesSent += size;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    if (options.loss > 0 && unit(rng) < options.loss) {
        total.packetsDropped++;
        mine.packetsDropped++;
        return;
    }
    double oneWay = options.rttMs / 2.0 + (options.jitterMs > 0 ? unit(rng) * options.jitterMs : 0);
    Datagram d;
    d.due = Steady::now() + std::chrono::microseconds(static_cast<std::int64_t>(oneWay * 1000.0));
    d.order = order++;
    d.to = to;
    d.from = from;
    d.data.assign(data, data + size);
    bool first = queue.empty() || Later{}(queue.top(), d);
    queue.push(std::move(d));
    if (first)
        wake.notify_one();
}

void SimNetwork::Impl::run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
        if (queue.empty()) {
            wake.wait(lock);
            continue;
        }
        if (queue.top().due > Steady::now()) {
            wake.wait_until(lock, queue.top().due);
            continue;
        }
        Datagram d = std::move(const_cast<Datagram&>(queue.top()));
        queue.pop();
        auto it = ports.find(d.to);
        auto toAddr = static_cast<std::uint32_t>(d.to >> 16);
        if (it == ports.end()) {
            total.packetsDropped++;
            continue;
        }
        auto port = it->second;
        auto& theirs = byAddress[toAddr];
        theirs.packetsReceived++;
        theirs.bytesReceived += d.data.size();
        total.packetsReceived++;
        total.bytesReceived += d.data.size();
        lock.unlock();
        {
            std::lock_guard portLock(port->mutex);
            if (port->socket)
                static_cast<SimSocket*>(port->socket)->deliver(d);
        }
        lock.lock();
    }
}

SimNetwork::SimNetwork(SimNetworkOptions options) : impl_(std::make_shared<Impl>()) {
    if (options.rttMs < 0 || options.jitterMs < 0 || options.loss < 0 || options.loss > 1)
        throw std::invalid_argument("sim network: negative delay or loss outside [0, 1]");
    impl_->options = options;
    impl_->rng.seed(options.seed);
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

SimNetwork::~SimNetwork() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    impl_->thread.join();
}

const SimNetworkOptions& SimNetwork::options() const noexcept {
    return impl_->options;
}

SimTraffic SimNetwork::total() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->total;
}

SimTraffic SimNetwork::trafficOf(const std::string& address) const {
    auto addr = parseIpv4(address);
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->byAddress.find(addr);
    return it == impl_->byAddress.end() ? SimTraffic{} : it->second;
}

struct SimNetworkAccess {
    static std::shared_ptr<SimNetwork::Impl> impl(SimNetwork& n) { return n.impl_; }
};

std::unique_ptr<::dht::net::DatagramSocket>
makeSimSocket(SimNetwork& network, const std::string& address, std::uint16_t port) {
    auto addr = parseIpv4(address);
    // OpenDHT rewrites a loopback address in a received node list to the
    // sender's address, which would scramble a simulated overlay.
    if ((addr >> 24) == 127)
        throw std::runtime_error("sim network: '" + address +
                                 "' is a loopback address; use e.g. 10.0.0.0/8");
    return std::make_unique<SimSocket>(SimNetworkAccess::impl(network), addr,
                                       port == 0 ? std::uint16_t{4222} : port);
}

} // namespace swarm::dht

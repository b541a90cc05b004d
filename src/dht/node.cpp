#include "dht/node.hpp"

#include "dht/counting_socket.hpp"
#include "dht/sim_socket.hpp"

#include "wire/bytes.hpp"
#include "wire/log.hpp"

#include <opendht/dhtrunner.h>
#include <opendht/log_enable.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace swarm::dht {

namespace {

const wire::Logger kLog("dht");

// Formats one printf-style OpenDHT log line and hands it to our logger.
void bridge(wire::LogLevel level, const char* format, va_list args) noexcept {
    if (!kLog.enabled(level))
        return;
    char buf[512];
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0)
        return;
    std::string_view line(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    wire::logLine(level, "dht", line);
}

// OpenDHT 2.4 logs routine tracing ("new search", every put) at its warning
// level and per-packet trouble (an IPv6 search on an IPv4-only node) at its
// error level, so both are lowered one step or more to keep our default
// (warn) output quiet.
std::shared_ptr<::dht::Logger> makeLogger() {
    auto method = [](wire::LogLevel level) {
        return ::dht::LogMethod(
            [level](char const* format, va_list args) { bridge(level, format, args); });
    };
    return std::make_shared<::dht::Logger>(method(wire::LogLevel::kInfo),
                                           method(wire::LogLevel::kDebug),
                                           method(wire::LogLevel::kDebug));
}

// OpenDHT 2.4 opens its UDP sockets without close-on-exec, so a child
// process started after the node (swarm-worker starts its node before its
// sandbox, which may fork a private Podman service) would inherit them,
// pass them on to its own children (conmon outlives the service) and keep
// the port bound after we exit. Marks every UDP socket of this process
// bound to one of `ports` close-on-exec. (OpenDHT's internal wake-up pipe
// stays inheritable; it binds nothing.)
void closeSocketsOnExec(std::initializer_list<std::uint16_t> ports) noexcept {
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        int fd = -1;
        try {
            fd = std::stoi(it->path().filename().string());
        } catch (...) {
            continue;
        }
        int type = 0;
        socklen_t typeLen = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLen) != 0 || type != SOCK_DGRAM)
            continue;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
            continue;
        std::uint16_t port = 0;
        if (ss.ss_family == AF_INET)
            port = ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
        if (port == 0 || std::find(ports.begin(), ports.end(), port) == ports.end())
            continue;
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC))
            ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

std::vector<DhtValue> copyValues(const std::vector<std::shared_ptr<::dht::Value>>& values) {
    std::vector<DhtValue> out;
    out.reserve(values.size());
    for (const auto& v : values)
        if (v)
            out.push_back(DhtValue{v->id, wire::Bytes(v->data.begin(), v->data.end())});
    return out;
}

} // namespace

struct Node::Impl {
    NodeConfig config;
    base::EventLoop loop{[](std::string_view what) { kLog.error("{}", what); }};
    ::dht::DhtRunner runner;
    std::mutex mutex;
    std::map<std::uint64_t, std::pair<::dht::InfoHash, std::shared_future<std::size_t>>> listens;
    std::uint64_t nextListen = 1;
    bool stopped = false;
    std::shared_ptr<TrafficCounters> counters; // NodeConfig::countTraffic

    // prepareSearch() per key text: a lookup under way collects callers;
    // a successful one is reused for kPreparedFor (OpenDHT keeps the
    // search's nodes synced for 10 minutes).
    static constexpr std::chrono::minutes kPreparedFor{5};
    struct Prepared {
        bool running = false;
        bool ok = false;
        std::chrono::steady_clock::time_point doneAt;
        std::vector<DoneCallback> waiting;
    };
    std::map<std::string, Prepared> prepared;

    // One round of prepareSearch(). OpenDHT ends a get as soon as the 8
    // closest nodes it knows have answered, while answers still on their
    // way can name closer nodes; those join the search unasked, and a put
    // would first have to ask them (measured with one round: more than one
    // first announcement in ten took 3 round trips instead of 1, sim 256
    // nodes). A second round asks them.
    void lookupRound(const std::string& keyText, int round) {
        // Value id 0 is OpenDHT's "no id": no stored value matches, so the
        // answers carry nodes and tokens only (no records, no value pages).
        runner.get(
            ::dht::InfoHash::get(keyText),
            [](const std::vector<std::shared_ptr<::dht::Value>>&) { return true; },
            [this, keyText, round](bool ok) {
                if (ok && round == 1) {
                    try {
                        loop.post([this, keyText] { lookupRound(keyText, 2); });
                        return;
                    } catch (...) {
                    }
                }
                std::vector<DoneCallback> waiting;
                {
                    std::lock_guard lock(mutex);
                    auto& p = prepared[keyText];
                    p.running = false;
                    p.ok = ok;
                    p.doneAt = std::chrono::steady_clock::now();
                    waiting.swap(p.waiting);
                }
                for (const auto& cb : waiting)
                    postDone(cb, ok);
            },
            {}, ::dht::Where().id(::dht::Value::INVALID_ID));
    }

    // Everything OpenDHT calls back lands here first, on OpenDHT's thread:
    // copy, post, never throw.
    void postValues(const ValuesCallback& cb, std::vector<DhtValue> values) noexcept {
        try {
            loop.post([cb, values = std::move(values)]() mutable { cb(std::move(values)); });
        } catch (...) {
        }
    }
    void postDone(const DoneCallback& cb, bool ok) noexcept {
        if (!cb)
            return;
        try {
            loop.post([cb, ok] { cb(ok); });
        } catch (...) {
        }
    }
};

Node::Node(NodeConfig config) : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
    const auto& cfg = impl_->config;

    ::dht::DhtRunner::Config rc;
    rc.threaded = true;
    rc.peer_discovery = cfg.lanDiscovery;
    rc.peer_publish = cfg.lanDiscovery;
    rc.dht_config.node_config.network = cfg.networkId;
    rc.dht_config.node_config.max_peer_req_per_sec =
        static_cast<ssize_t>(cfg.maxPeerRequestsPerSec);

    ::dht::DhtRunner::Context ctx;
    ctx.logger = makeLogger();

    try {
        if (cfg.simNetwork) {
            if (cfg.bindAddress.empty())
                throw std::runtime_error("dht: a node on a simulated network needs an address");
            ctx.sock = makeSimSocket(*cfg.simNetwork, cfg.bindAddress, cfg.port);
            impl_->runner.run(rc, std::move(ctx));
        } else if (cfg.bindAddress.empty()) {
            impl_->runner.run(cfg.port, rc, std::move(ctx));
        } else {
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(cfg.port);
            if (inet_pton(AF_INET, cfg.bindAddress.c_str(), &sin.sin_addr) != 1)
                throw std::runtime_error("dht: bind address '" + cfg.bindAddress +
                                         "' is not an IPv4 address");
            rc.bind4 = ::dht::SockAddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
            if (cfg.countTraffic) {
                impl_->counters = std::make_shared<TrafficCounters>();
                ctx.sock = std::make_unique<CountingSocket>(rc.bind4, impl_->counters);
            }
            if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127 && cfg.bindAddress != "127.0.0.1")
                kLog.warn("bound to {}: OpenDHT rewrites loopback addresses in node lists to "
                          "the sender's, so peers learn this node at a wrong address; bind "
                          "127.0.0.1 (own port) for nodes on one machine",
                          cfg.bindAddress);
            impl_->runner.run(rc, std::move(ctx));
        }
    } catch (const std::runtime_error&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error("dht: cannot start node on " +
                                 (cfg.bindAddress.empty() ? std::string("*") : cfg.bindAddress) +
                                 ":" + std::to_string(cfg.port) + ": " + e.what());
    }
    if (port() == 0) {
        impl_->runner.join();
        throw std::runtime_error("dht: node did not bind a UDP port on " +
                                 (cfg.bindAddress.empty() ? std::string("*") : cfg.bindAddress));
    }
    if (!cfg.simNetwork)
        closeSocketsOnExec({port(), impl_->runner.getBoundPort(AF_INET6)});
    kLog.debug("node up on {}", endpoint());
    if (!cfg.bootstrap.empty())
        bootstrap(cfg.bootstrap);
}

Node::~Node() {
    shutdown();
}

const NodeConfig& Node::config() const noexcept {
    return impl_->config;
}
const std::string& Node::swarm() const noexcept {
    return impl_->config.swarm;
}
base::EventLoop& Node::loop() noexcept {
    return impl_->loop;
}

std::uint16_t Node::port() const {
    return impl_->runner.getBoundPort(AF_INET);
}

std::vector<std::string> Node::publicHosts() const {
    std::vector<std::string> hosts;
    for (const auto& addr : impl_->runner.getPublicAddress()) {
        char text[INET6_ADDRSTRLEN] = {};
        const auto* sa = addr.get();
        if (sa == nullptr)
            continue;
        if (sa->sa_family == AF_INET)
            ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text,
                        sizeof text);
        else if (sa->sa_family == AF_INET6)
            ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text,
                        sizeof text);
        if (text[0] != '\0' && std::find(hosts.begin(), hosts.end(), text) == hosts.end())
            hosts.emplace_back(text);
    }
    return hosts;
}

std::string Node::endpoint() const {
    auto host =
        impl_->config.bindAddress.empty() ? std::string("127.0.0.1") : impl_->config.bindAddress;
    return host + ":" + std::to_string(port());
}

std::size_t Node::bootstrap(const std::vector<HostPort>& nodes) {
    std::vector<::dht::SockAddr> addrs;
    for (const auto& hp : nodes) {
        std::vector<::dht::SockAddr> found;
        try {
            found = ::dht::SockAddr::resolve(hp.host, std::to_string(hp.port));
        } catch (const std::exception& e) {
            kLog.warn("bootstrap {}: {}", hp.str(), e.what());
        }
        if (found.empty()) {
            kLog.warn("bootstrap {}: name does not resolve; skipped", hp.str());
            continue;
        }
        for (auto& a : found) {
            // A node bound to one IPv4 address cannot reach IPv6 peers.
            if (!impl_->config.bindAddress.empty() && a.getFamily() != AF_INET)
                continue;
            addrs.push_back(std::move(a));
        }
    }
    auto n = addrs.size();
    if (n > 0)
        impl_->runner.bootstrap(std::move(addrs));
    return n;
}

std::optional<NodeTraffic> Node::traffic() const {
    if (!impl_->counters)
        return std::nullopt;
    return impl_->counters->snapshot();
}

std::size_t Node::knownNodes() const {
    std::size_t n = 0;
    for (auto af : {AF_INET, AF_INET6}) {
        auto s = impl_->runner.getNodesStats(static_cast<sa_family_t>(af));
        n += s.good_nodes + s.dubious_nodes;
    }
    return n;
}

bool Node::waitForNodes(std::size_t count, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (knownNodes() >= count)
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void Node::get(const std::string& keyText, ValuesCallback onValues, DoneCallback onDone) {
    auto* impl = impl_.get();
    impl->runner.get(
        ::dht::InfoHash::get(keyText),
        [impl, onValues](const std::vector<std::shared_ptr<::dht::Value>>& values) {
            impl->postValues(onValues, copyValues(values));
            return true;
        },
        [impl, onDone](bool ok) { impl->postDone(onDone, ok); });
}

void Node::prepareSearch(const std::string& keyText, DoneCallback onDone) {
    auto* impl = impl_.get();
    {
        std::lock_guard lock(impl->mutex);
        auto& p = impl->prepared[keyText];
        if (p.running) {
            if (onDone)
                p.waiting.push_back(std::move(onDone));
            return;
        }
        if (p.ok && std::chrono::steady_clock::now() - p.doneAt < Impl::kPreparedFor) {
            impl->postDone(onDone, true);
            return;
        }
        p.running = true;
        if (onDone)
            p.waiting.push_back(std::move(onDone));
    }
    impl->lookupRound(keyText, 1);
}

std::uint64_t Node::listen(const std::string& keyText, ValuesCallback onValues) {
    auto* impl = impl_.get();
    auto hash = ::dht::InfoHash::get(keyText);
    auto future = impl->runner.listen(
        hash,
        [impl, onValues](const std::vector<std::shared_ptr<::dht::Value>>& values, bool expired) {
            if (!expired)
                impl->postValues(onValues, copyValues(values));
            return true;
        });
    std::lock_guard lock(impl->mutex);
    auto token = impl->nextListen++;
    impl->listens.emplace(token, std::make_pair(hash, future.share()));
    return token;
}

void Node::cancelListen(std::uint64_t token) {
    std::pair<::dht::InfoHash, std::shared_future<std::size_t>> entry;
    {
        std::lock_guard lock(impl_->mutex);
        auto it = impl_->listens.find(token);
        if (it == impl_->listens.end() || impl_->stopped)
            return;
        entry = it->second;
        impl_->listens.erase(it);
    }
    impl_->runner.cancelListen(entry.first, entry.second);
}

void Node::put(const std::string& keyText, DhtValue value, DoneCallback onDone) {
    auto* impl = impl_.get();
    auto v =
        std::make_shared<::dht::Value>(::dht::ValueType::USER_DATA.id,
                                       ::dht::Blob(value.data.begin(), value.data.end()), value.id);
    impl->runner.put(::dht::InfoHash::get(keyText), v,
                     [impl, onDone](bool ok) { impl->postDone(onDone, ok); });
}

void Node::cancelPut(const std::string& keyText, std::uint64_t valueId) {
    impl_->runner.cancelPut(::dht::InfoHash::get(keyText), valueId);
}

std::size_t Node::packedValueSize(const wire::Bytes& data, std::uint64_t id) {
    ::dht::Value v(::dht::ValueType::USER_DATA.id, ::dht::Blob(data.begin(), data.end()), id);
    return v.getPacked().size();
}

std::uint64_t Node::freshValueId() {
    std::uint64_t id = 0;
    while (id == 0 || id == ::dht::Value::INVALID_ID)
        wire::randomBytes(std::span(reinterpret_cast<std::uint8_t*>(&id), sizeof id));
    return id;
}

void Node::shutdown() {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopped)
            return;
        impl_->stopped = true;
    }
    // OpenDHT confirms a shutdown only once every operation it counts as
    // ongoing (gets, listens, puts) has ended; nothing is lost by not
    // waiting longer (our withdraw already waited for its own put), so the
    // wait is short and only informative.
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    impl_->runner.shutdown([done] {
        try {
            done->set_value();
        } catch (...) {
        }
    });
    if (future.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready)
        kLog.debug("node {}: OpenDHT still had operations in flight at shutdown", endpoint());
    impl_->runner.join();
    impl_->loop.stop();
}

} // namespace swarm::dht

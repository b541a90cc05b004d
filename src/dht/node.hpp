#pragma once

#include "base/event_loop.hpp"
#include "dht/bootstrap.hpp"
#include "wire/bytes.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::dht {

class SimNetwork;

/// How to run one DHT node. Parsed once by the program, then fixed.
struct NodeConfig {
    /// IPv4 address to bind ("127.0.0.1"); empty binds the wildcard address
    /// of both IPv4 and IPv6. Nodes of one overlay on one machine must all
    /// bind 127.0.0.1 (or the wildcard), each on its own port: OpenDHT
    /// rewrites a loopback address in a received node list to the address
    /// of the node that sent the list, so nodes on distinct 127.x addresses
    /// learn each other at wrong addresses (a warning is logged).
    std::string bindAddress;
    /// UDP port; 0 picks a free one (see Node::port()).
    std::uint16_t port = 0;
    /// Nodes to join through; host names are resolved when the node starts.
    std::vector<HostPort> bootstrap;
    /// OpenDHT's LAN peer discovery (multicast 239.192.0.1:8888): find and
    /// announce nodes on the local network, for zero-config personal swarms.
    bool lanDiscovery = false;
    /// The swarm name (see keys.hpp); separates swarms sharing an overlay.
    std::string swarm = "default";
    /// OpenDHT's per-source-IP request limit: 0 keeps OpenDHT's default
    /// (1024/s), -1 removes it. Many nodes on 127.0.0.1 share one source
    /// address; tests and benchmarks with dozens of them remove it.
    std::int64_t maxPeerRequestsPerSec = 0;
    /// OpenDHT network id; 0 is the one stock nodes (dhtnode) use.
    std::uint32_t networkId = 0;
    /// Count this node's UDP datagrams (Node::traffic()); needs bindAddress.
    /// For benchmarks; a simulated network counts on its own.
    bool countTraffic = false;
    /// When set, the node sends and receives over this in-process network
    /// (see sim_network.hpp) instead of UDP; bindAddress is then its address
    /// there (required) and port 0 means 4222. Must outlive the node.
    std::shared_ptr<SimNetwork> simNetwork;
};

/// Datagrams and bytes one node's socket sent and received.
struct NodeTraffic {
    std::uint64_t packetsSent = 0;
    std::uint64_t bytesSent = 0;
    std::uint64_t packetsReceived = 0;
    std::uint64_t bytesReceived = 0;
};

/// One value under a key, as stored in the DHT: OpenDHT's value id and our
/// bytes. Nothing in it is trusted.
struct DhtValue {
    std::uint64_t id = 0;
    wire::Bytes data;
};

/// A running OpenDHT node (a wrapper over dht::DhtRunner) plus the event
/// loop on which every callback of this room runs.
///
/// Threading: all public methods are thread-safe. Callbacks passed to get,
/// listen and put never run on OpenDHT's thread: they are posted to loop()
/// and run there, one at a time. Objects that use a Node (Announcer,
/// Discovery, Inbox) must be destroyed before it.
class Node {
public:
    using ValuesCallback = std::function<void(std::vector<DhtValue>)>;
    using DoneCallback = std::function<void(bool ok)>;

    /// Binds and starts the node, then bootstraps from config.bootstrap.
    /// Throws std::runtime_error if the address cannot be bound or parsed.
    /// Bootstrap names that do not resolve are logged and skipped.
    explicit Node(NodeConfig config);
    /// shutdown().
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    const NodeConfig& config() const noexcept;
    const std::string& swarm() const noexcept;
    /// The bound IPv4 UDP port.
    std::uint16_t port() const;
    /// "address:port" other nodes can bootstrap from (IPv4).
    std::string endpoint() const;
    /// This host's addresses as other nodes see them (OpenDHT learns them
    /// from their replies): behind a NAT, the router's public address.
    /// Numeric hosts without ports; empty until some node has answered.
    std::vector<std::string> publicHosts() const;
    /// The loop on which this node's callbacks run.
    base::EventLoop& loop() noexcept;

    /// Adds bootstrap nodes (resolving names; unresolvable ones are logged
    /// and skipped). Returns how many addresses were handed to OpenDHT.
    std::size_t bootstrap(const std::vector<HostPort>& nodes);
    /// What the node's socket carried so far, if NodeConfig::countTraffic.
    std::optional<NodeTraffic> traffic() const;
    /// Good + dubious IPv4 and IPv6 nodes in the routing table.
    std::size_t knownNodes() const;
    /// Waits until the routing table holds at least `count` nodes.
    bool waitForNodes(std::size_t count, std::chrono::milliseconds timeout) const;

    /// One lookup of the key hashed from `keyText`. `onValues` may run
    /// several times (values arrive in batches), then `onDone` once.
    void get(const std::string& keyText, ValuesCallback onValues, DoneCallback onDone = {});
    /// Looks up the nodes closest to the key without fetching its values:
    /// a get whose query matches no value (value id 0, which OpenDHT never
    /// assigns), so the nodes answer with their closest nodes and write
    /// tokens only; a second round asks the closer nodes the first one's
    /// late answers named. OpenDHT keeps the search it built (its nodes
    /// count as synced for 10 minutes after their last answer), so a put or
    /// listen for the key from this node in that time goes straight to them
    /// instead of looking them up first. OpenDHT starts it once the node
    /// has joined. `onDone(ok)` runs on loop() when the lookup is over (ok:
    /// nodes answered). A call while a lookup of the key is under way, or
    /// within 5 minutes of one that succeeded, starts nothing and reports
    /// that one's outcome.
    void prepareSearch(const std::string& keyText, DoneCallback onDone = {});
    /// Keeps delivering new values under the key (and the ones already
    /// there) until cancelListen(). Expiry notifications are not passed on.
    /// Returns a token for cancelListen().
    std::uint64_t listen(const std::string& keyText, ValuesCallback onValues);
    void cancelListen(std::uint64_t token);
    /// Stores `value` under the key; OpenDHT keeps re-announcing it until
    /// cancelPut(). `value.id` must be fresh: the default edit policy of
    /// storing nodes refuses new content under an id they already hold.
    void put(const std::string& keyText, DhtValue value, DoneCallback onDone = {});
    /// Stops re-announcing a value; copies already stored expire on their own.
    void cancelPut(const std::string& keyText, std::uint64_t valueId);

    /// Size in bytes of `data` packed as an OpenDHT value (what travels in
    /// a reply); OpenDHT inlines values only while a reply stays < 600 B.
    static std::size_t packedValueSize(const wire::Bytes& data, std::uint64_t id = ~0ULL);
    /// A random value id (never 0, OpenDHT's "no id").
    static std::uint64_t freshValueId();

    /// Stops OpenDHT (waits at most 0.5 s for it to confirm), joins its
    /// thread, then stops the loop.
    /// Idempotent. Must not be called from loop().
    void shutdown();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace swarm::dht

// dht::SimNetwork: OpenDHT nodes talking over the in-process network, with
// its delay, loss and counters.

#include "dht/node.hpp"
#include "dht/sim_network.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace swarm;
using namespace swarm::dht;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

NodeConfig simNode(const std::shared_ptr<SimNetwork>& net, const std::string& address) {
    NodeConfig cfg;
    cfg.bindAddress = address;
    cfg.simNetwork = net;
    return cfg;
}

/// Values found by one get of `key` from `node` (waits for "done", bounded).
std::size_t valuesFound(Node& node, const std::string& key) {
    auto count = std::make_shared<std::size_t>(0);
    auto done = std::make_shared<std::promise<void>>();
    node.get(
        key, [count](std::vector<DhtValue> v) { *count += v.size(); },
        [done](bool) { done->set_value(); });
    auto f = done->get_future();
    BOOST_REQUIRE(f.wait_for(20s) == std::future_status::ready);
    return *count;
}

void putAndWait(Node& node, const std::string& key, wire::Bytes data) {
    auto done = std::make_shared<std::promise<bool>>();
    node.put(key, DhtValue{Node::freshValueId(), std::move(data)},
             [done](bool ok) { done->set_value(ok); });
    auto f = done->get_future();
    BOOST_REQUIRE(f.wait_for(20s) == std::future_status::ready);
    BOOST_TEST(f.get());
}

} // namespace

BOOST_AUTO_TEST_SUITE(sim_network)

BOOST_AUTO_TEST_CASE(nodes_store_and_find_values_with_the_configured_delay) {
    SimNetworkOptions o;
    o.rttMs = 40;
    auto net = std::make_shared<SimNetwork>(o);
    Node a(simNode(net, "10.1.0.1"));
    auto cfg = simNode(net, "10.1.0.2");
    cfg.bootstrap = {HostPort{"10.1.0.1", a.port()}};
    Node b(cfg);
    BOOST_REQUIRE(b.waitForNodes(1, 10s));
    BOOST_REQUIRE(a.waitForNodes(1, 10s));

    putAndWait(a, "sim/test/key", wire::Bytes{1, 2, 3});
    auto start = Steady::now();
    BOOST_TEST(valuesFound(b, "sim/test/key") == 1u);
    // A get needs at least one round trip to the node holding the value.
    auto tookMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
    BOOST_TEST(tookMs >= 40);

    auto t = net->total();
    BOOST_TEST(t.packetsSent > 0u);
    BOOST_TEST(t.packetsReceived <= t.packetsSent);
    auto ta = net->trafficOf("10.1.0.1");
    auto tb = net->trafficOf("10.1.0.2");
    BOOST_TEST(ta.packetsSent + tb.packetsSent == t.packetsSent);
    BOOST_TEST(ta.packetsReceived + tb.packetsReceived == t.packetsReceived);
    BOOST_TEST(ta.bytesSent > 0u);
    b.shutdown();
    a.shutdown();
}

BOOST_AUTO_TEST_CASE(total_loss_delivers_nothing) {
    SimNetworkOptions o;
    o.rttMs = 2;
    o.loss = 1.0;
    auto net = std::make_shared<SimNetwork>(o);
    Node a(simNode(net, "10.2.0.1"));
    auto cfg = simNode(net, "10.2.0.2");
    cfg.bootstrap = {HostPort{"10.2.0.1", a.port()}};
    Node b(cfg);
    BOOST_TEST(!b.waitForNodes(1, 1500ms));
    auto t = net->total();
    BOOST_TEST(t.packetsSent > 0u);
    BOOST_TEST(t.packetsReceived == 0u);
    BOOST_TEST(t.packetsDropped == t.packetsSent);
    b.shutdown();
    a.shutdown();
}

BOOST_AUTO_TEST_CASE(a_prepared_search_lets_the_first_put_skip_the_lookup) {
    // Two nodes put a value under the same new key: one looked the key up
    // first (prepareSearch), the other did not. The prepared node's put
    // goes straight to the nodes its lookup found and is acknowledged one
    // round trip later; the other must first ask nodes for the key, at
    // least one round trip more. Every datagram takes exactly rtt/2 here,
    // so the bounds are the simulated delays, not the machine's speed.
    SimNetworkOptions o;
    o.rttMs = 200;
    auto net = std::make_shared<SimNetwork>(o);
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 16; ++i) {
        auto cfg = simNode(net, "10.4.0." + std::to_string(i + 1));
        if (i > 0)
            cfg.bootstrap = {HostPort{"10.4.0.1", nodes[0]->port()}};
        nodes.push_back(std::make_unique<Node>(cfg));
    }
    for (auto& n : nodes)
        BOOST_REQUIRE(n->waitForNodes(3, 20s));
    Node& prepared = *nodes[5];
    Node& cold = *nodes[9];
    // Both nodes learn the overlay the same way (a lookup of another key).
    BOOST_TEST(valuesFound(prepared, "sim/test/other-key") == 0u);
    BOOST_TEST(valuesFound(cold, "sim/test/other-key") == 0u);

    auto done = std::make_shared<std::promise<bool>>();
    prepared.prepareSearch("sim/test/first-put", [done](bool ok) { done->set_value(ok); });
    auto f = done->get_future();
    BOOST_REQUIRE(f.wait_for(20s) == std::future_status::ready);
    BOOST_TEST(f.get());

    auto timedPut = [&](Node& node, const std::string& address) {
        auto before = net->trafficOf(address).packetsSent;
        auto start = Steady::now();
        putAndWait(node, "sim/test/first-put", wire::Bytes{7});
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
        BOOST_TEST_MESSAGE(address << ": first put acknowledged after " << ms.count() << " ms, "
                                   << net->trafficOf(address).packetsSent - before
                                   << " datagrams sent");
        return ms.count();
    };
    auto warmMs = timedPut(prepared, "10.4.0.6");
    auto coldMs = timedPut(cold, "10.4.0.10");
    BOOST_TEST(warmMs < 2 * 200);  // one round trip: the put
    BOOST_TEST(coldMs >= 2 * 200); // a lookup round trip, then the put
    BOOST_TEST(valuesFound(*nodes[15], "sim/test/first-put") == 2u);
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
        (*it)->shutdown();
}

BOOST_AUTO_TEST_CASE(refuses_loopback_and_taken_addresses) {
    auto net = std::make_shared<SimNetwork>();
    // OpenDHT rewrites loopback node addresses (docs/discovery.md).
    BOOST_CHECK_THROW(Node(simNode(net, "127.0.0.1")), std::runtime_error);
    BOOST_CHECK_THROW(Node(simNode(net, "not-an-address")), std::runtime_error);
    Node a(simNode(net, "10.3.0.1"));
    BOOST_CHECK_THROW(Node(simNode(net, "10.3.0.1")), std::runtime_error);
    a.shutdown();
}

BOOST_AUTO_TEST_SUITE_END()

// dht::SimNetwork: OpenDHT nodes talking over the in-process network, with
// its delay, loss and counters.

#include "dht/node.hpp"
#include "dht/sim_network.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

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

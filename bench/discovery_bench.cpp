#include "bench/discovery_bench.hpp"
#include "cli/options.hpp"

#include "dht/announcer.hpp"
#include "dht/bootstrap.hpp"
#include "dht/discovery.hpp"
#include "dht/keys.hpp"
#include "dht/node.hpp"
#include "dht/sim_network.hpp"
#include "support/child_process.hpp"
#include "wire/clock.hpp"
#include "wire/envelope.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace swarm::bench {

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

// OpenDHT 2.4 uses select(): one process aborts once a socket fd passes
// 1024, around 330 UDP nodes. A UDP overlay keeps this many nodes in the
// measuring process and spreads the rest over child processes of this
// executable (`--serve-nodes`), as many per child. Sim nodes have no fds.
constexpr std::uint64_t kUdpNodesPerProcess = 200;

struct Options {
    bool sim = false;
    std::uint64_t nodes = 256;
    std::uint64_t workers = 10;
    std::uint64_t trusted = 5;
    std::uint64_t runs = 10;
    std::uint64_t probes = 3;
    double rttMs = 50;
    double jitterMs = 0;
    double loss = 0;
    std::int64_t timeoutMs = 10'000;
    std::int64_t settleMs = 0;
    std::uint64_t seed = 0;
    std::string csv;
    std::string plot;
    bool quick = false;
};

/// One metric's samples (ms) and failures.
struct Series {
    std::vector<double> ms;
    std::uint64_t failures = 0;
    void add(std::optional<double> v) {
        if (v)
            ms.push_back(*v);
        else
            ++failures;
    }
};

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

/// The metrics, in report order, with one line of meaning each.
const std::vector<std::pair<std::string, std::string>>& metricNames() {
    static const std::vector<std::pair<std::string, std::string>> names = {
        {"cold-first", "fresh node + Discovery: first trusted worker verified"},
        {"cold-all", "fresh node + Discovery: all T trusted workers verified"},
        {"raw-first", "fresh node + plain get: first value"},
        {"raw-done", "fresh node + plain get: get done"},
        {"warm-up", "Announcer::prepare (lookup of the workers key) -> lookup done"},
        {"propagation", "first announce after the warm-up -> verified by a listening Discovery"},
        {"raw-listen", "same announcements -> plain listen notified (the Discovery's node)"},
        {"propagation-cold", "first announce without warm-up -> verified by the Discovery"},
        {"raw-listen-cold", "same announcements -> plain listen notified"},
        {"update", "changed record re-announced -> verified by the listening Discovery"},
        {"raw-update", "changed record re-announced -> plain listen notified"},
    };
    return names;
}

struct Results {
    std::map<std::string, Series> series;
    std::uint64_t rawValuesSeen = 0;    // values returned by raw gets, summed
    std::uint64_t rawGets = 0;          // raw gets that finished
    std::uint64_t untrustedSkipped = 0; // by cold discoveries, summed
    std::uint64_t coldProbes = 0;
    std::uint64_t coldPackets = 0; // datagrams sent + received by cold nodes
    std::uint64_t coldBytes = 0;
    std::uint64_t rawPackets = 0;
    std::uint64_t rawBytes = 0;
};

// Where node `index` of run `run` lives. On the simulated network each node
// gets its own 10.<run>.b.c address. Over UDP every node binds 127.0.0.1 (own
// port) with OpenDHT's per-IP rate limit removed: OpenDHT rewrites a loopback
// address in a received node list to the sender's address (keeping the port),
// so nodes on distinct 127.x addresses learn each other at wrong addresses.
std::string address(bool sim, std::uint64_t run, std::uint64_t index) {
    if (!sim)
        return "127.0.0.1";
    return fmt::format("10.{}.{}.{}", run % 250, index / 250, index % 250 + 1);
}

wire::CapacityRecord sampleRecord(std::uint64_t i) {
    wire::CapacityRecord r;
    r.cores = static_cast<std::uint32_t>(2 + i % 6);
    r.memoryBytes = 8ULL << 30;
    r.slots = r.cores;
    r.freeSlots = r.cores;
    r.arch = "x86_64";
    r.os = "linux";
    r.labels = {"bench"};
    r.podman = "4.3.1";
    r.rootless = true;
    r.software = "bench";
    return r;
}

std::int64_t wallMs(const wire::Clock& clock) {
    return clock.nowMs();
}

/// A child process of this executable hosting more UDP nodes of an overlay
/// (`swarm-bench discovery --serve-nodes COUNT --join 127.0.0.1:PORT`). It
/// answers "READY <port>..." once its nodes have joined and warmed up, and
/// exits when its standard input closes (so it never outlives us).
class NodeHost {
public:
    NodeHost(std::uint64_t count, std::uint16_t joinPort, std::uint64_t seed)
        : child_("/proc/self/exe",
                 {"discovery", "--serve-nodes", std::to_string(count), "--join",
                  "127.0.0.1:" + std::to_string(joinPort), "--seed", std::to_string(seed)},
                 pipes()) {}
    NodeHost(const NodeHost&) = delete;
    NodeHost& operator=(const NodeHost&) = delete;

    /// Waits (at most `limit`) for the child's READY line; its nodes' ports.
    std::vector<std::uint16_t> waitReady(std::chrono::milliseconds limit) {
        auto line = child_.readLine(limit);
        if (!line)
            throw std::runtime_error(child_.outputClosed()
                                         ? "a node host exited before it was ready"
                                         : "a node host did not get ready in time");
        std::istringstream in(*line);
        std::string word;
        in >> word;
        if (word != "READY")
            throw std::runtime_error("a node host said '" + *line + "'");
        std::vector<std::uint16_t> ports;
        unsigned port = 0;
        while (in >> port)
            ports.push_back(static_cast<std::uint16_t>(port));
        return ports;
    }

    // Closing its stdin ends it; it is killed if it has not exited 10 s later.
    ~NodeHost() {
        child_.closeInput();
        child_.wait(10s);
    }

private:
    static test::ChildOptions pipes() {
        test::ChildOptions o;
        o.in = test::Stream::pipe();
        o.out = test::Stream::pipe();
        return o;
    }

    test::ChildProcess child_;
};

/// One overlay: N nodes, K of them announcing, and fresh probe nodes.
class Overlay {
public:
    Overlay(const Options& o, std::uint64_t run) : o_(o), run_(run) {
        if (o.sim) {
            dht::SimNetworkOptions so;
            so.rttMs = o.rttMs;
            so.jitterMs = o.jitterMs;
            so.loss = o.loss;
            so.seed = 1000 + run;
            sim_ = std::make_shared<dht::SimNetwork>(so);
        }
        rng_.seed(o.seed + run * 7919 + 17);
        local_ = o.sim ? o.nodes : std::min(o.nodes, kUdpNodesPerProcess);
        for (std::uint64_t i = 0; i < local_; ++i) {
            dht::NodeConfig cfg = configFor(i);
            if (i > 0) {
                // Join through the first node and a random earlier one.
                cfg.bootstrap.push_back({address(o_.sim, run_, 0), nodes_[0]->port()});
                auto j = std::uniform_int_distribution<std::uint64_t>(0, i - 1)(rng_);
                if (j != 0)
                    cfg.bootstrap.push_back({address(o_.sim, run_, j), nodes_[j]->port()});
            }
            nodes_.push_back(std::make_unique<dht::Node>(cfg));
        }
        nextAddress_ = local_;
        // The rest of a UDP overlay joins from child processes, through
        // this process's first node.
        for (std::uint64_t placed = local_; placed < o.nodes; placed += kUdpNodesPerProcess)
            hosts_.push_back(std::make_unique<NodeHost>(
                std::min(kUdpNodesPerProcess, o.nodes - placed), nodes_[0]->port(), rng_()));
        lonely_ = waitAll(1, 30s);
        warmUp();
        if (o.settleMs > 0) {
            // Let the overlay run (routing-table maintenance) before anyone
            // announces: a real swarm's overlay is not seconds old.
            std::this_thread::sleep_for(std::chrono::milliseconds(o.settleMs));
            settledMs_ = static_cast<double>(o.settleMs);
        }
        unsettled_ = waitAll(std::min<std::size_t>(o.nodes - 1, 8), 1ms);
        for (auto& h : hosts_) {
            auto ports = h->waitReady(120s);
            remotePorts_.insert(remotePorts_.end(), ports.begin(), ports.end());
        }
    }

    /// Every node looks up one random key and the overlay waits for those
    /// lookups (bounded): the walks fill routing tables the way a live
    /// swarm's traffic does. Without it, nodes of a seconds-old overlay know
    /// little beyond their bootstrap nodes and lookups often miss values.
    void warmUp() {
        struct Count {
            std::mutex mutex;
            std::condition_variable cv;
            std::size_t done = 0;
        };
        auto count = std::make_shared<Count>();
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            nodes_[i]->get(
                fmt::format("swarm-bench/warm-up/{}/{}", run_, i),
                [](std::vector<dht::DhtValue>) {},
                [count](bool) {
                    std::lock_guard lock(count->mutex);
                    count->done++;
                    count->cv.notify_all();
                });
        std::unique_lock lock(count->mutex);
        count->cv.wait_for(lock, std::chrono::milliseconds(o_.timeoutMs),
                           [&] { return count->done >= nodes_.size(); });
        warmed_ = count->done;
    }

    /// Waits (at most `limit` in all) for every node to know `want` peers;
    /// returns how many do not.
    std::size_t waitAll(std::size_t want, std::chrono::milliseconds limit) {
        auto deadline = Steady::now() + limit;
        std::size_t missing = 0;
        for (auto& n : nodes_) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
            if (!n->waitForNodes(want, std::max(left, 1ms)))
                ++missing;
        }
        return missing;
    }
    ~Overlay() {
        for (auto& n : nodes_)
            n->shutdown();
    }

    dht::NodeConfig configFor(std::uint64_t index) {
        dht::NodeConfig cfg;
        cfg.bindAddress = address(o_.sim, run_, index);
        cfg.simNetwork = sim_;
        if (!o_.sim)
            cfg.maxPeerRequestsPerSec = -1;
        return cfg;
    }

    /// A fresh node joining through the overlay's first node (the swarm's
    /// bootstrap node) and a random other one.
    std::unique_ptr<dht::Node> freshNode(std::string& addr) {
        auto cfg = configFor(nextAddress_++);
        cfg.countTraffic = !o_.sim; // the simulated network counts on its own
        addr = cfg.bindAddress;
        cfg.bootstrap.push_back({address(o_.sim, run_, 0), nodes_[0]->port()});
        auto j = std::uniform_int_distribution<std::size_t>(1, nodes_.size() + remotePorts_.size() -
                                                                   1)(rng_);
        if (j < nodes_.size())
            cfg.bootstrap.push_back({address(o_.sim, run_, j), nodes_[j]->port()});
        else
            cfg.bootstrap.push_back({"127.0.0.1", remotePorts_[j - nodes_.size()]});
        return std::make_unique<dht::Node>(cfg);
    }

    dht::Node& node(std::size_t i) { return *nodes_.at(i); }
    /// Nodes in this process (the others are in node hosts).
    std::uint64_t localCount() const { return local_; }
    std::size_t hostProcesses() const { return hosts_.size(); }
    std::size_t lonely() const { return lonely_; }
    std::size_t unsettled() const { return unsettled_; }
    std::size_t warmed() const { return warmed_; }
    double settledMs() const { return settledMs_; }
    const std::shared_ptr<dht::SimNetwork>& sim() const { return sim_; }

private:
    const Options& o_;
    std::uint64_t run_;
    std::shared_ptr<dht::SimNetwork> sim_;
    std::vector<std::unique_ptr<dht::Node>> nodes_;
    std::uint64_t local_ = 0;
    std::vector<std::unique_ptr<NodeHost>> hosts_;
    std::vector<std::uint16_t> remotePorts_;
    std::mt19937_64 rng_;
    std::uint64_t nextAddress_ = 0;
    std::size_t lonely_ = 0;
    std::size_t unsettled_ = 0;
    std::size_t warmed_ = 0;
    double settledMs_ = 0;
};

wire::TrustList trustOf(const std::vector<wire::Identity>& ids, std::size_t count,
                        const wire::Identity& self) {
    wire::TrustList list;
    for (std::size_t i = 0; i < count && i < ids.size(); ++i) {
        auto r = list.add(wire::PeerId(ids[i].publicKey()), fmt::format("w{}", i),
                          wire::PeerId(self.publicKey()));
        if (!r)
            throw std::runtime_error("trust list: " + r.error().what);
    }
    return list;
}

// What the fresh node `node` (bound to `addr`) sent and received: counted
// by the simulated network, or by the node's own socket on udp.
void addTraffic(const Overlay& overlay, const dht::Node& node, const std::string& addr,
                std::uint64_t& packets, std::uint64_t& bytes) {
    if (overlay.sim()) {
        auto t = overlay.sim()->trafficOf(addr);
        packets += t.packetsSent + t.packetsReceived;
        bytes += t.bytesSent + t.bytesReceived;
    } else if (auto t = node.traffic()) {
        packets += t->packetsSent + t->packetsReceived;
        bytes += t->bytesSent + t->bytesReceived;
    }
}

/// A fresh submitter node bootstraps and runs Discovery for the T trusted.
void coldProbe(const Options& o, Overlay& overlay, const std::vector<wire::Identity>& ids,
               const wire::Identity& self, const wire::Clock& clock, Results& out) {
    std::string addr;
    auto t0 = wallMs(clock);
    auto node = overlay.freshNode(addr);
    std::optional<double> first, all;
    {
        dht::Discovery discovery(*node, trustOf(ids, o.trusted, self), clock);
        discovery.start();
        bool complete = discovery.waitUntil(
            [&](const dht::DiscoverySnapshot& s) { return s.workers.size() >= o.trusted; },
            std::chrono::milliseconds(o.timeoutMs));
        auto snap = discovery.snapshot();
        if (!snap.workers.empty()) {
            std::int64_t lo = INT64_MAX, hi = 0;
            for (const auto& w : snap.workers) {
                lo = std::min(lo, w.firstSeenMs);
                hi = std::max(hi, w.firstSeenMs);
            }
            first = static_cast<double>(lo - t0);
            if (complete)
                all = static_cast<double>(hi - t0);
        }
        out.untrustedSkipped += snap.skippedFor(dht::SkipReason::kUntrusted);
        if (!complete)
            fmt::print(stderr,
                       "  cold probe from {} incomplete: {} of {} trusted, {} values examined, "
                       "{} gets done, {} nodes known\n",
                       addr, snap.workers.size(), o.trusted, snap.distinctValues, snap.getsDone,
                       node->knownNodes());
    }
    node->shutdown();
    addTraffic(overlay, *node, addr, out.coldPackets, out.coldBytes);
    out.coldProbes++;
    out.series["cold-first"].add(first);
    out.series["cold-all"].add(all);
}

/// A fresh node bootstraps and does one plain get of the workers key.
void rawProbe(const Options& o, Overlay& overlay, const wire::Clock& clock, Results& out) {
    struct Shared {
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<std::int64_t> first, done;
        std::set<std::uint64_t> ids;
    };
    auto shared = std::make_shared<Shared>();
    std::string addr;
    auto t0 = wallMs(clock);
    auto node = overlay.freshNode(addr);
    node->get(
        dht::workersKeyText(node->swarm()),
        [shared, &clock](std::vector<dht::DhtValue> values) {
            std::lock_guard lock(shared->mutex);
            for (const auto& v : values)
                shared->ids.insert(v.id);
            if (!values.empty() && !shared->first)
                shared->first = wallMs(clock);
        },
        [shared, &clock](bool) {
            std::lock_guard lock(shared->mutex);
            shared->done = wallMs(clock);
            shared->cv.notify_all();
        });
    std::optional<double> first, done;
    {
        std::unique_lock lock(shared->mutex);
        shared->cv.wait_for(lock, std::chrono::milliseconds(o.timeoutMs),
                            [&] { return shared->done.has_value(); });
        if (shared->first)
            first = static_cast<double>(*shared->first - t0);
        if (shared->done) {
            done = static_cast<double>(*shared->done - t0);
            out.rawGets++;
            out.rawValuesSeen += shared->ids.size();
        }
    }
    node->shutdown();
    addTraffic(overlay, *node, addr, out.rawPackets, out.rawBytes);
    out.series["raw-first"].add(first);
    out.series["raw-done"].add(done);
}

/// A plain OpenDHT listen on the workers key, the baseline for propagation:
/// when each new value of each signer arrived. The time is taken before
/// the value is opened to learn its signer.
struct RawListen {
    std::mutex mutex;
    std::condition_variable cv;
    std::map<std::string, std::vector<std::int64_t>> arrivals; // peer id -> wall ms

    /// How long after `since` the first value of `peer` arrived (at or
    /// after `since`).
    std::optional<double> after(const std::string& peer, std::int64_t since) const {
        auto it = arrivals.find(peer);
        if (it != arrivals.end())
            for (auto t : it->second)
                if (t >= since)
                    return static_cast<double>(t - since);
        return std::nullopt;
    }

    static std::uint64_t start(dht::Node& node, const std::shared_ptr<RawListen>& self) {
        auto domain = dht::swarmDomain(node.swarm());
        return node.listen(
            dht::workersKeyText(node.swarm()), [self, domain](std::vector<dht::DhtValue> values) {
                wire::SystemClock clock;
                auto now = clock.nowMs();
                wire::VerifyPolicy policy;
                policy.domain = domain;
                policy.type = wire::EnvelopeType::kCapacity;
                policy.nowMs = now;
                std::lock_guard lock(self->mutex);
                for (const auto& v : values)
                    if (auto env = wire::openEnvelope(v.data, policy))
                        self->arrivals[wire::PeerId(env->signer).str()].push_back(now);
                self->cv.notify_all();
            });
    }
};

// One run's workers, their announcers and the submitter listening for
// them on one overlay; each step records its series into `out`.
class DiscoveryRun {
public:
    DiscoveryRun(const Options& o, std::uint64_t run, Overlay& overlay, Results& out)
        : o_(o), run_(run), overlay_(overlay), out_(out), local_(overlay.localCount()),
          self_(wire::Identity::generate()) {
        for (std::uint64_t i = 0; i < o.workers; ++i)
            ids_.push_back(wire::Identity::generate());
    }

    void startListening();
    void warmUp();
    void announce();
    void update();
    void probe();
    /// The raw listen ends before the probes; the workers' records stay
    /// announced through them.
    void stopRawListen() { overlay_.node(local_ - 1).cancelListen(rawToken_); }
    void withdraw() { announcers_.clear(); }

private:
    std::string id(std::uint64_t i) const { return wire::PeerId(ids_[i].publicKey()).str(); }
    static std::optional<double> since(std::optional<std::int64_t> seen, std::int64_t from) {
        if (!seen)
            return std::nullopt;
        return static_cast<double>(std::max<std::int64_t>(0, *seen - from));
    }

    const Options& o_;
    const std::uint64_t run_;
    Overlay& overlay_;
    Results& out_;
    const std::uint64_t local_;
    wire::SystemClock clock_;
    wire::Identity self_;
    std::vector<wire::Identity> ids_;
    std::unique_ptr<dht::Discovery> listener_;
    std::shared_ptr<RawListen> raw_ = std::make_shared<RawListen>();
    std::uint64_t rawToken_ = 0;
    std::vector<std::unique_ptr<dht::Announcer>> announcers_;
    std::vector<bool> warm_;
};

// The listening submitter sits on the last overlay node and trusts every
// worker; workers are spread over nodes 1..N-2.
void DiscoveryRun::startListening() {
    listener_ = std::make_unique<dht::Discovery>(overlay_.node(local_ - 1),
                                                 trustOf(ids_, ids_.size(), self_), clock_);
    listener_->start();
    rawToken_ = RawListen::start(overlay_.node(local_ - 1), raw_);
    listener_->waitUntil([](const dht::DiscoverySnapshot& s) { return s.getsDone >= 1; }, 5s);
}

// First announcements, two ways, on the same overlay at the same moment.
// Warm workers start the lookup of the workers key when their announcer is
// created (Announcer::prepare), as swarm-worker does before its sandbox
// checks, and announce once it is over; cold workers announce with no
// lookup before (what swarm-worker did until then), so their first put
// looks the storing nodes up itself. Which half is warm alternates with the
// run.
void DiscoveryRun::warmUp() {
    dht::AnnouncerOptions ao;
    ao.withdrawWait = 300ms;
    struct Prepared {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t pending = 0;
        std::map<std::uint64_t, std::int64_t> doneAt; // worker -> wall ms (ok only)
    };
    auto prepared = std::make_shared<Prepared>();
    std::vector<std::int64_t> preparedFrom(o_.workers, 0);
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        auto at = 1 + i * (local_ - 2) / std::max<std::uint64_t>(o_.workers, 1);
        announcers_.push_back(
            std::make_unique<dht::Announcer>(overlay_.node(at), ids_[i], clock_, ao));
        warm_.push_back((i + run_) % 2 == 0);
        if (!warm_.back())
            continue;
        {
            std::lock_guard lock(prepared->mutex);
            prepared->pending++;
        }
        preparedFrom[i] = wallMs(clock_);
        dht::Announcer::prepare(overlay_.node(at), [prepared, i](bool ok) {
            wire::SystemClock now;
            std::lock_guard lock(prepared->mutex);
            if (ok)
                prepared->doneAt[i] = wallMs(now);
            prepared->pending--;
            prepared->cv.notify_all();
        });
    }
    std::unique_lock lock(prepared->mutex);
    prepared->cv.wait_for(lock, std::chrono::milliseconds(o_.timeoutMs),
                          [&] { return prepared->pending == 0; });
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        if (!warm_[i])
            continue;
        auto it = prepared->doneAt.find(i);
        out_.series["warm-up"].add(
            it == prepared->doneAt.end()
                ? std::nullopt
                : std::optional<double>(static_cast<double>(it->second - preparedFrom[i])));
    }
}

void DiscoveryRun::announce() {
    std::vector<std::int64_t> announcedAt;
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        announcedAt.push_back(wallMs(clock_));
        if (auto r = announcers_[i]->announce(sampleRecord(i)); !r)
            throw std::runtime_error("announce: " + r.error().what);
    }
    auto waitEnd = Steady::now() + std::chrono::milliseconds(o_.timeoutMs);
    listener_->waitUntil(
        [&](const dht::DiscoverySnapshot& s) { return s.workers.size() >= o_.workers; },
        std::chrono::milliseconds(o_.timeoutMs));
    {
        std::unique_lock lock(raw_->mutex);
        raw_->cv.wait_until(lock, waitEnd, [&] { return raw_->arrivals.size() >= o_.workers; });
        for (std::uint64_t i = 0; i < o_.workers; ++i)
            out_.series[warm_[i] ? "raw-listen" : "raw-listen-cold"].add(
                raw_->after(id(i), announcedAt[i]));
    }
    std::map<std::string, std::int64_t> seen;
    for (const auto& w : listener_->snapshot().workers)
        seen[w.id.str()] = w.firstSeenMs;
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        auto it = seen.find(id(i));
        out_.series[warm_[i] ? "propagation" : "propagation-cold"].add(
            it == seen.end() ? std::nullopt : since(it->second, announcedAt[i]));
    }
}

// Update: every worker re-announces a changed record (one slot taken)
// through its node's search for the key, which its first put (and, for warm
// workers, the lookup before it) left warm.
void DiscoveryRun::update() {
    std::vector<std::int64_t> updatedAt;
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        auto changed = sampleRecord(i);
        changed.freeSlots -= 1;
        updatedAt.push_back(wallMs(clock_));
        if (auto r = announcers_[i]->announce(changed); !r)
            throw std::runtime_error("announce: " + r.error().what);
    }
    auto updated = [&](const dht::DiscoverySnapshot& s) {
        std::size_t n = 0;
        for (const auto& w : s.workers)
            n += w.record.freeSlots < w.record.slots;
        return n >= o_.workers;
    };
    listener_->waitUntil(updated, std::chrono::milliseconds(o_.timeoutMs));
    std::map<std::string, std::int64_t> updateSeen;
    for (const auto& w : listener_->snapshot().workers)
        if (w.record.freeSlots < w.record.slots)
            updateSeen[w.id.str()] = w.lastSeenMs;
    std::unique_lock lock(raw_->mutex);
    raw_->cv.wait_until(lock, Steady::now() + std::chrono::milliseconds(o_.timeoutMs), [&] {
        for (std::uint64_t i = 0; i < o_.workers; ++i)
            if (!raw_->after(id(i), updatedAt[i]))
                return false;
        return true;
    });
    for (std::uint64_t i = 0; i < o_.workers; ++i) {
        out_.series["raw-update"].add(raw_->after(id(i), updatedAt[i]));
        auto it = updateSeen.find(id(i));
        out_.series["update"].add(it == updateSeen.end() ? std::nullopt
                                                         : since(it->second, updatedAt[i]));
    }
}

// Alternate which probe goes first so neither always meets a warmer overlay.
void DiscoveryRun::probe() {
    for (std::uint64_t p = 0; p < o_.probes; ++p) {
        if ((p + run_) % 2 == 0) {
            coldProbe(o_, overlay_, ids_, self_, clock_, out_);
            rawProbe(o_, overlay_, clock_, out_);
        } else {
            rawProbe(o_, overlay_, clock_, out_);
            coldProbe(o_, overlay_, ids_, self_, clock_, out_);
        }
    }
}

void oneRun(const Options& o, std::uint64_t run, Results& out) {
    auto started = Steady::now();
    Overlay overlay(o, run);
    DiscoveryRun r(o, run, overlay, out);
    r.startListening();
    r.warmUp();
    r.announce();
    r.update();
    r.stopRawListen();
    r.probe();
    fmt::print(stderr,
               "  run {}: overlay of {} up ({} here, the rest in {} node host process(es); "
               "here: {} nodes did not join, {} warm-up lookups done, settle {:.0f} ms, {} nodes "
               "know < 8 peers), {:.1f} s\n",
               run + 1, o.nodes, overlay.localCount(), overlay.hostProcesses(), overlay.lonely(),
               overlay.warmed(), overlay.settledMs(), overlay.unsettled(),
               std::chrono::duration<double>(Steady::now() - started).count());
    r.withdraw();
}

std::string label(const Options& o) {
    if (!o.sim)
        return "udp";
    return fmt::format("sim rtt={}ms jitter={}ms loss={}", o.rttMs, o.jitterMs, o.loss);
}

void writeCsv(const Options& o, const Results& r, const std::string& path) {
    bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
    std::ofstream f(path, std::ios::app);
    if (!f)
        throw std::runtime_error("cannot write " + path);
    if (fresh)
        f << "net,nodes,workers,trusted,runs,probes,rtt_ms,jitter_ms,loss,metric,samples,"
             "failures,p50_ms,p90_ms,p99_ms,max_ms\n";
    for (const auto& [name, meaning] : metricNames()) {
        auto it = r.series.find(name);
        if (it == r.series.end())
            continue;
        const auto& s = it->second;
        f << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{:.0f},{:.0f},{:.0f},{:.0f}\n",
                         o.sim ? "sim" : "udp", o.nodes, o.workers, o.trusted, o.runs, o.probes,
                         o.sim ? o.rttMs : 0.0, o.sim ? o.jitterMs : 0.0, o.sim ? o.loss : 0.0,
                         name, s.ms.size(), s.failures, percentile(s.ms, 50), percentile(s.ms, 90),
                         percentile(s.ms, 99), percentile(s.ms, 100));
    }
}

void writePlot(const std::string& csv, const std::string& plot) {
    auto ext = fs::path(plot).extension().string();
    std::string term = ext == ".svg" ? "svg size 900,540" : "png size 900,540";
    auto script = fs::temp_directory_path() / fmt::format("swarm-bench-{}.gp", ::getpid());
    {
        std::ofstream g(script);
        g << "set terminal " << term << "\n"
          << "set output '" << plot << "'\n"
          << "set datafile separator ','\n"
          << "set key top left\n"
          << "set title 'swarm-bench discovery: p50 latency against overlay size'\n"
          << "set xlabel 'nodes (N)'\nset ylabel 'p50 latency (ms)'\n"
          << "set logscale x 2\nset grid\n";
        // One line per transport and headline metric; rows are picked with
        // awk so that each line joins only its own points.
        g << "plot ";
        bool firstPlot = true;
        for (const char* name :
             {"cold-all", "raw-first", "propagation", "propagation-cold", "update"}) {
            for (const char* net : {"udp", "sim"}) {
                if (!firstPlot)
                    g << ", \\\n     ";
                firstPlot = false;
                g << fmt::format("\"< awk -F, '$1==\\\"{}\\\" && $10==\\\"{}\\\"' {}\" using "
                                 "2:13 smooth unique with linespoints title '{} {}'",
                                 net, name, csv, net, name);
            }
        }
        g << "\n";
    }
    auto cmd = fmt::format("gnuplot '{}' 2>/dev/null", script.string());
    test::ChildProcess gnuplot("/bin/sh", {"-c", cmd});
    auto rc = gnuplot.wait(std::chrono::minutes(5));
    fs::remove(script);
    if (rc != 0)
        throw std::runtime_error("gnuplot failed (is gnuplot-nox installed?)");
}

/// The child side of NodeHost: `count` UDP nodes on 127.0.0.1 joining
/// through `join` and a random earlier node of this process; each looks up
/// one random key (as the measuring process's nodes do), then "READY" and
/// the ports go to stdout, and the process lives until stdin closes.
int serveNodes(std::uint64_t count, const dht::HostPort& join, std::uint64_t seed) {
    // The parent's sockets (OpenDHT does not mark them close-on-exec) would
    // push ours past select()'s 1024.
    ::close_range(3, ~0U, 0);
    std::mt19937_64 rng(seed);
    std::vector<std::unique_ptr<dht::Node>> nodes;
    for (std::uint64_t i = 0; i < count; ++i) {
        dht::NodeConfig cfg;
        cfg.bindAddress = "127.0.0.1";
        cfg.maxPeerRequestsPerSec = -1;
        cfg.bootstrap.push_back(join);
        if (i > 0) {
            auto j = std::uniform_int_distribution<std::uint64_t>(0, i - 1)(rng);
            cfg.bootstrap.push_back({"127.0.0.1", nodes[j]->port()});
        }
        nodes.push_back(std::make_unique<dht::Node>(cfg));
    }
    auto deadline = Steady::now() + 30s;
    for (auto& n : nodes)
        n->waitForNodes(1, std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - Steady::now()),
                                    1ms));
    auto pending = std::make_shared<std::atomic<std::uint64_t>>(count);
    for (std::uint64_t i = 0; i < count; ++i)
        nodes[i]->get(
            fmt::format("swarm-bench/warm-up/{}/{}", seed, i), [](std::vector<dht::DhtValue>) {},
            [pending](bool) { pending->fetch_sub(1); });
    for (int i = 0; i < 200 && pending->load() > 0; ++i)
        std::this_thread::sleep_for(50ms);
    std::string line = "READY";
    for (auto& n : nodes)
        line += " " + std::to_string(n->port());
    line += "\n";
    if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return 1;
    char buf[64];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    // Nothing to hand over: leave without the per-node shutdown handshakes.
    std::fflush(stderr);
    std::_Exit(0);
}

// The flags of `discovery`, as given; --quick changes the defaults the
// others override.
struct DiscoveryFlags {
    std::optional<std::uint64_t> serveNodes;
    std::optional<std::string> join;
    bool quick = false;
    std::optional<std::string> net;
    std::optional<std::uint64_t> nodes, workers, trusted, runs, probes, timeoutMs, settleMs, seed;
    std::optional<double> rttMs, jitterMs, loss;
    std::string csv;
    std::string plot;
    bool plotOnly = false;
};

void declareDiscoveryFlags(CLI::App& app, DiscoveryFlags& f) {
    app.add_flag("--quick", f.quick,
                 "a small, short run: 16 nodes, 4 workers, 2 trusted, 1 run x 2 probes, 5000 ms");
    app.add_option("--net", f.net,
                   "udp: real UDP on loopback; sim: simulated network "
                   "(default: udp)")
        ->type_name("udp|sim");
    cli::addNumber(app, "--nodes", f.nodes, "nodes in the overlay, at least 4 (default: 256)");
    cli::addNumber(app, "--workers", f.workers, "nodes that announce a worker (default: 10)");
    cli::addNumber(app, "--trusted", f.trusted, "workers on the allow-list (default: 5)");
    cli::addNumber(app, "--runs", f.runs, "fresh overlays (default: 10)");
    cli::addNumber(app, "--probes", f.probes, "cold discoveries per run (default: 3)");
    cli::addNumber(app, "--timeout", f.timeoutMs, "a probe's time limit (default: 10000)")
        ->type_name("MS");
    cli::addNumber(app, "--settle", f.settleMs, "wait after the announcements (default: 0)")
        ->type_name("MS");
    cli::addNumber(app, "--seed", f.seed,
                   "seed of the identities and the simulated network "
                   "(default: 0)");
    app.add_option("--rtt", f.rttMs, "sim: round-trip time (default: 50)")->type_name("MS");
    app.add_option("--jitter", f.jitterMs, "sim: jitter (default: 0)")->type_name("MS");
    app.add_option("--loss", f.loss, "sim: datagram loss, 0 to 1 (default: 0)")->type_name("P");
    app.add_option("--csv", f.csv, "append the figures to this CSV file")->type_name("FILE");
    app.add_option("--plot", f.plot, "draw the CSV's figures to this file (gnuplot)")
        ->type_name("FILE");
    app.add_flag("--plot-only", f.plotOnly, "only redraw --plot from an existing --csv");
    cli::addNumber(app, "--serve-nodes", f.serveNodes,
                   "internal (the udp overlay's helper processes): serve N nodes joined "
                   "through --join");
    app.add_option("--join", f.join, "internal, with --serve-nodes: the node to join through")
        ->type_name("HOST:PORT");
}

Options optionsFrom(const DiscoveryFlags& f) {
    Options o;
    o.quick = f.quick;
    if (o.quick) {
        o.nodes = 16;
        o.workers = 4;
        o.trusted = 2;
        o.runs = 1;
        o.probes = 2;
        o.timeoutMs = 5'000;
    }
    if (f.net) {
        if (*f.net != "udp" && *f.net != "sim")
            throw cli::UsageError("--net must be udp or sim");
        o.sim = *f.net == "sim";
    }
    o.nodes = f.nodes.value_or(o.nodes);
    o.workers = f.workers.value_or(o.workers);
    o.trusted = f.trusted.value_or(o.trusted);
    o.runs = f.runs.value_or(o.runs);
    o.probes = f.probes.value_or(o.probes);
    o.timeoutMs = static_cast<std::int64_t>(f.timeoutMs.value_or(o.timeoutMs));
    o.settleMs = static_cast<std::int64_t>(f.settleMs.value_or(o.settleMs));
    o.seed = f.seed.value_or(o.seed);
    o.rttMs = f.rttMs.value_or(o.rttMs);
    o.jitterMs = f.jitterMs.value_or(o.jitterMs);
    o.loss = f.loss.value_or(o.loss);
    o.csv = f.csv;
    o.plot = f.plot;
    return o;
}

void checkOptions(const Options& o) {
    if (o.nodes < 4 || o.workers < 1 || o.trusted < 1 || o.runs < 1 || o.probes < 1)
        throw cli::UsageError("need --nodes >= 4 and positive --workers, --trusted, --runs");
    if (o.trusted > o.workers)
        throw cli::UsageError("--trusted cannot exceed --workers");
    if (o.workers > o.nodes - 2)
        throw cli::UsageError("--workers must leave two nodes that are not workers");
    if (o.rttMs < 0 || o.jitterMs < 0 || o.loss < 0 || o.loss > 1)
        throw cli::UsageError("--rtt, --jitter must be >= 0 and --loss in [0, 1]");
    if (!o.sim && o.workers + 2 > kUdpNodesPerProcess)
        throw cli::UsageError(fmt::format("--net udp: at most {} workers (they and the "
                                          "measuring nodes share this process)",
                                          kUdpNodesPerProcess - 2));
}

int runDiscovery(const DiscoveryFlags& f) {
    if (f.serveNodes) {
        auto join = dht::parseHostPort(f.join.value_or(""));
        if (!join)
            throw cli::UsageError("--serve-nodes needs --join HOST:PORT: " + join.error().what);
        return serveNodes(*f.serveNodes, *join, f.seed.value_or(1));
    }
    Options o = optionsFrom(f);
    if (f.plotOnly) {
        // Redraw the plot from a CSV several earlier runs appended to.
        if (o.csv.empty() || o.plot.empty() || !fs::exists(o.csv))
            throw cli::UsageError("--plot-only needs an existing --csv FILE and --plot FILE");
        writePlot(o.csv, o.plot);
        return 0;
    }
    checkOptions(o);

    fmt::print("swarm-bench discovery: {} nodes ({}), {} workers, {} trusted, {} run(s) x {} "
               "probe(s), timeout {} ms, settle {} ms\n",
               o.nodes, label(o), o.workers, o.trusted, o.runs, o.probes, o.timeoutMs, o.settleMs);
    if (!o.sim)
        fmt::print("  every node on 127.0.0.1 (own port), OpenDHT's per-IP rate limit removed; "
                   "{} node(s) per process ({} process(es)); loopback RTT is ~0, so figures are "
                   "processing + OpenDHT timers\n",
                   kUdpNodesPerProcess, (o.nodes + kUdpNodesPerProcess - 1) / kUdpNodesPerProcess);
    std::fflush(stdout);

    Results r;
    for (std::uint64_t run = 0; run < o.runs; ++run)
        oneRun(o, run, r);

    auto rtt = [&](double ms) { return o.sim && o.rttMs > 0 ? ms / o.rttMs : NAN; };
    fmt::print("  {:<16} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8}{}\n", "metric", "samples", "fail%",
               "p50 ms", "p90 ms", "p99 ms", "max ms", o.sim ? "   p50/p90/p99 in RTT" : "");
    for (const auto& [name, meaning] : metricNames()) {
        const auto& s = r.series[name];
        auto n = s.ms.size() + s.failures;
        double fail = n ? 100.0 * static_cast<double>(s.failures) / static_cast<double>(n) : 0;
        auto p50 = percentile(s.ms, 50), p90 = percentile(s.ms, 90), p99 = percentile(s.ms, 99);
        fmt::print("  {:<16} {:>7} {:>6.1f} {:>8.0f} {:>8.0f} {:>8.0f} {:>8.0f}", name, s.ms.size(),
                   fail, p50, p90, p99, percentile(s.ms, 100));
        if (o.sim)
            fmt::print("   {:.1f}/{:.1f}/{:.1f}", rtt(p50), rtt(p90), rtt(p99));
        fmt::print("\n");
    }
    const auto& all = r.series["cold-all"];
    fmt::print("  completeness: all {} trusted found within {} ms in {} of {} cold probes\n",
               o.trusted, o.timeoutMs, all.ms.size(), all.ms.size() + all.failures);
    if (r.coldProbes)
        fmt::print("  untrusted records skipped per cold probe: {:.1f} (of {} untrusted)\n",
                   static_cast<double>(r.untrustedSkipped) / static_cast<double>(r.coldProbes),
                   o.workers - o.trusted);
    if (r.rawGets)
        fmt::print("  raw get completeness: {:.1f} of {} values per finished get\n",
                   static_cast<double>(r.rawValuesSeen) / static_cast<double>(r.rawGets),
                   o.workers);
    if (r.coldProbes) {
        auto per = [](std::uint64_t v, std::uint64_t n) {
            return static_cast<double>(v) / static_cast<double>(std::max<std::uint64_t>(n, 1));
        };
        auto rawN = r.series["raw-done"].ms.size() + r.series["raw-done"].failures;
        fmt::print("  datagrams per probe (sent+received by the fresh node, whole probe): "
                   "discovery {:.0f} ({:.0f} KiB), raw get {:.0f} ({:.0f} KiB)\n",
                   per(r.coldPackets, r.coldProbes), per(r.coldBytes, r.coldProbes) / 1024,
                   per(r.rawPackets, rawN), per(r.rawBytes, rawN) / 1024);
    }
    for (const auto& [name, meaning] : metricNames())
        fmt::print("    {:<16} {}\n", name, meaning);

    std::string csv = o.csv;
    std::optional<fs::path> tempCsv;
    if (csv.empty() && !o.plot.empty()) {
        tempCsv = fs::temp_directory_path() / fmt::format("swarm-bench-{}.csv", ::getpid());
        csv = tempCsv->string();
    }
    if (!csv.empty())
        writeCsv(o, r, csv);
    if (!o.plot.empty())
        writePlot(csv, o.plot);
    if (tempCsv)
        fs::remove(*tempCsv);
    return 0;
}

} // namespace

cli::Command discoveryCommand() {
    return {"discovery", "discovery latency vs a raw OpenDHT get, on N nodes (udp or sim)",
            [](CLI::App& app) -> cli::Action {
                auto flags = std::make_shared<DiscoveryFlags>();
                declareDiscoveryFlags(app, *flags);
                return [flags](const cli::Globals&) { return runDiscovery(*flags); };
            }};
}

} // namespace swarm::bench

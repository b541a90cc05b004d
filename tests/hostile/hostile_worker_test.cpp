// A hostile trusted submitter against a real swarm-worker (with Podman).
//
// The test process plays the suite's own submitter: it offers work through
// the DHT like swarm-submit does, then writes every message of the session
// itself. Each row sends one assign that breaks one rule of the judge
// (wire/judge.hpp); the worker must refuse that unit, name the field, and
// keep serving: an honest unit runs right after each row. Rows that end the
// session (a frame over the cap, a map over the unpack limit, a refused
// cancel or bye) must end only that session: a new offer is served. At the
// end nothing may exist, anywhere on this machine, under a name carrying the
// run's marker, and nothing may have been added in /, /tmp, the fixture's
// directory or the worker's home.

#include "e2e/swarm_fixture.hpp"
#include "hostile/fs_walk.hpp"
#include "hostile/hostile_peers.hpp"
#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "net/session.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"

#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include <msgpack.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>

using namespace swarm;
using namespace swarm::hostile;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;

// How long the worker may take to answer one message (a unit runs within).
constexpr auto kAnswer = std::chrono::milliseconds(30'000);

std::string randomMarker() {
    std::array<std::uint8_t, 8> r{};
    wire::randomBytes(r);
    return "hx" + wire::toHex(r);
}

// The session as the test drives it: the worker's demand (slots it asked
// for and has not been given a unit for), the blobs we serve and receive,
// and every digest the worker asked for.
struct Driver {
    net::Session& session;
    net::BlobStore& serve;
    net::BlobStore& received;
    std::uint32_t demand = 0;
    std::vector<wire::RawDigest> asked;

    // What the worker answered to one unit.
    struct Answer {
        std::optional<wire::Result> result;
        std::optional<wire::ErrorMsg> error;
        std::vector<wire::RawDigest> asked; // need-blobs before the answer
        std::string failure;                // the session failed, or an unexpected message
        std::string resultRefused;          // why our judge refuses the result
    };

    // Receives until the worker asks for work (true), or fails.
    bool waitDemand() {
        while (demand == 0) {
            auto msg = session.receive(kAnswer);
            if (!msg)
                return false;
            if (!take(*msg))
                return false;
        }
        return true;
    }

    // Handles a message that may come at any time; false for anything else.
    bool take(const wire::RawMessage& msg) {
        if (msg.type != wire::MsgType::kRequestWork)
            return false;
        auto req = wire::bodyAs<wire::RequestWork>(msg);
        if (!req)
            return false;
        demand += req->slots;
        return true;
    }

    void send(const wire::Assign& assign) { sendPayload(wire::encodeMessage(assign)); }

    void sendPayload(const wire::Bytes& payload) {
        BOOST_REQUIRE(demand > 0);
        --demand;
        auto sent = session.sendPayload(payload);
        BOOST_REQUIRE_MESSAGE(sent, "send: " << (sent ? "" : net::describe(sent.error())));
    }

    // Reads the worker's answer to the unit just sent: serves the inputs it
    // asks for, counts its requests for work, receives the outputs that
    // follow a result.
    Answer answer() {
        Answer a;
        for (;;) {
            auto msg = session.receive(kAnswer);
            if (!msg) {
                a.failure = net::describe(msg.error());
                return a;
            }
            switch (msg->type) {
            case wire::MsgType::kRequestWork:
                if (!take(*msg)) {
                    a.failure = "a request-work that does not decode";
                    return a;
                }
                continue;
            case wire::MsgType::kNeedBlobs: {
                auto req = wire::bodyAs<wire::NeedBlobs>(*msg);
                if (!req) {
                    a.failure = "need-blobs: " + req.error().what;
                    return a;
                }
                a.asked.insert(a.asked.end(), req->digests.begin(), req->digests.end());
                asked.insert(asked.end(), req->digests.begin(), req->digests.end());
                if (auto ok = net::serveBlobs(session, serve, *req); !ok) {
                    a.failure = "serving blobs: " + net::describe(ok.error());
                    return a;
                }
                continue;
            }
            case wire::MsgType::kProgress:
                // A worker says now and then that a unit still runs.
                if (auto p = wire::bodyAs<wire::Progress>(*msg); !p) {
                    a.failure = "progress: " + p.error().what;
                    return a;
                }
                continue;
            case wire::MsgType::kResult: {
                // Read as it is, so that the session stays in step even when
                // a broken worker sends what our own judge would refuse.
                if (auto judged = wire::bodyAs<wire::Result>(*msg); !judged)
                    a.resultRefused = judged.error().what;
                auto r = wire::convertAs<wire::Result>(msg->body, "result");
                if (!r) {
                    a.failure = "result: " + r.error().what;
                    return a;
                }
                for (const auto& out : r->outputs) {
                    auto got = net::receiveBlob(session, received, net::toDigest(out.digest), {});
                    if (!got) {
                        a.failure = "output " + out.name + ": " + net::describe(got.error());
                        return a;
                    }
                }
                a.result = std::move(*r);
                return a;
            }
            case wire::MsgType::kError: {
                auto e = wire::bodyAs<wire::ErrorMsg>(*msg);
                if (!e) {
                    a.failure = "error: " + e.error().what;
                    return a;
                }
                a.error = std::move(*e);
                return a;
            }
            default:
                a.failure = std::string("unexpected ") + wire::msgTypeName(msg->type);
                return a;
            }
        }
    }
};

wire::Assign honestAssign(const std::string& unitId, const wire::Digest& input,
                          std::uint64_t size) {
    wire::Assign a;
    a.unitId = unitId;
    a.replica = 0;
    a.image = "localhost/swarm-test:latest";
    a.command = {"sh", "-c", "cat in/in.txt > out/copy"};
    a.inputs = {wire::FileRef{"in.txt", net::toRaw(input), size}};
    a.outputs = {"out/copy"};
    a.timeoutMs = 60'000;
    a.leaseExpiresMs = wire::SystemClock().nowMs() + 600'000;
    return a;
}

bool askedFor(const std::vector<wire::RawDigest>& asked, const wire::Digest& d) {
    return std::find(asked.begin(), asked.end(), net::toRaw(d)) != asked.end();
}

// Runs one honest unit whose input is `content`: it must run, exit 0 and
// return a copy of the input. False if the session is no longer usable.
bool runHonest(Driver& d, const std::string& unitId, const std::string& content) {
    BOOST_TEST_CONTEXT("honest unit " << unitId) {
        if (!d.waitDemand()) {
            BOOST_ERROR("the worker did not ask for work");
            return false;
        }
        auto input = d.serve.put(wire::asBytes(content));
        BOOST_REQUIRE(input);
        d.send(honestAssign(unitId, *input, content.size()));
        auto a = d.answer();
        BOOST_TEST(a.result.has_value(),
                   "no result: " << a.failure << (a.error ? a.error->message : ""));
        if (!a.result)
            return a.failure.empty();
        BOOST_TEST(a.resultRefused == "");
        BOOST_TEST(a.result->unitId == unitId);
        BOOST_TEST(a.result->error == "");
        BOOST_TEST(a.result->exitCode == 0);
        auto copy = std::find_if(a.result->outputs.begin(), a.result->outputs.end(),
                                 [](const auto& o) { return o.name == "out/copy"; });
        BOOST_TEST((copy != a.result->outputs.end()), "no out/copy");
        if (copy != a.result->outputs.end()) {
            BOOST_TEST((net::toDigest(copy->digest) == *input), "out/copy is not the input");
            BOOST_TEST(copy->size == content.size());
        }
    }
    return true;
}

// Runs `f` when it goes out of scope, however the test case ends.
struct AtExit {
    std::function<void()> f;
    ~AtExit() {
        try {
            f();
        } catch (const std::exception& e) {
            BOOST_ERROR("final checks: " << e.what());
        }
    }
};

// Offers work to `worker` until a session arrives (the DHT may drop a put:
// one more offer after 15 s).
std::unique_ptr<HostedSession> connect(TestSubmitter& sub, const std::string& worker) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        sub.offer(worker);
        if (auto h = sub.accept(15s))
            return h;
    }
    return nullptr;
}

// Waits until the worker's log has a line holding every part, in order.
bool logHas(const std::filesystem::path& log, const std::vector<std::string>& parts,
            std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Steady::now() + timeout;
    for (;;) {
        std::istringstream in(e2e::readFile(log));
        for (std::string line; std::getline(in, line);) {
            std::size_t at = 0;
            bool all = true;
            for (const auto& p : parts) {
                at = line.find(p, at);
                if (at == std::string::npos) {
                    all = false;
                    break;
                }
                at += p.size();
            }
            if (all)
                return true;
        }
        if (Steady::now() > deadline)
            return false;
        std::this_thread::sleep_for(100ms);
    }
}

// Waits until the worker has no session with any submitter.
bool waitNoSession(e2e::Swarm& s, const std::string& name) {
    const auto deadline = Steady::now() + 15s;
    while (Steady::now() < deadline) {
        if (s.workerStatus(name).find("\"submitters\":[]") != std::string::npos)
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

// Reads until the worker ends the session; the messages it sent meanwhile
// are listed in `seen`. False if it kept the session open for `timeout`.
bool waitClosed(net::Session& session, std::string& seen, std::chrono::milliseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
        auto msg = session.receive(1s);
        if (msg) {
            seen += std::string(wire::msgTypeName(msg->type)) + " ";
            continue;
        }
        if (msg.error().code == net::Error::Code::kTimeout && !session.broken())
            continue;
        return true;
    }
    return false;
}

struct AssignRow {
    std::string name;
    std::function<void(wire::Assign&)> spoil;
    std::string field; ///< the refusal's reason starts with this
    bool unitNamed;    ///< the worker answers a result for the unit (else an error 400)
};

struct SessionRow {
    std::string name;
    std::function<void(net::Session&)> send;
    std::vector<std::string> logLine; ///< parts of the worker's log line, in order
    bool judged;                      ///< counted in the worker's "refused" (all are)
};

wire::Bytes frameHeader(std::size_t size) {
    return {static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
            static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_submitter_against_a_real_worker)

BOOST_AUTO_TEST_CASE(every_hostile_assign_is_refused_by_field_and_the_worker_keeps_serving) {
    const auto started = Steady::now();
    auto& s = theSwarm();
    const auto bId = s.addSubmitter("b");
    e2e::WorkerOptions wo;
    wo.trustedBySubmitter = false; // swarm-submit runs later in this suite must not use it
    wo.slots = 1;
    wo.submitters = {"b"};
    const auto workerId = s.startWorker("w", wo);
    const auto log = s.workerLog("w");
    const auto dir = s.root() / "hostile-worker";
    std::filesystem::create_directories(dir);
    wire::SystemClock clock;
    net::BlobStore serveA(dir / "serve-a", {}, clock);
    net::BlobStore serveB(dir / "serve-b", {}, clock); // stays empty
    net::BlobStore received(dir / "received", {}, clock);
    TestSubmitter a(s.submitterHome(), s.dhtPort(), {workerId});
    BOOST_TEST_MESSAGE("worker " << workerId << ", submitter A " << a.id() << ", B " << bId);

    const std::string marker = randomMarker();
    const std::string planted = "planted-" + marker;
    const std::string tmpdir = s.root().string();

    auto hosted = connect(a, workerId);
    BOOST_REQUIRE_MESSAGE(hosted, "the worker never dialed the first offer");
    auto driver = std::make_unique<Driver>(Driver{hosted->session(), serveA, received});
    // Ends the session (if any) and serves a new offer.
    auto reconnect = [&]() -> bool {
        driver.reset();
        hosted.reset();
        BOOST_TEST(waitNoSession(s, "w"), "the worker kept its session");
        hosted = connect(a, workerId);
        BOOST_TEST(hosted != nullptr, "the worker did not dial a new offer");
        if (hosted)
            driver = std::make_unique<Driver>(Driver{hosted->session(), serveA, received});
        return hosted != nullptr;
    };
    // A first unit makes the worker's work and cache folders: what the
    // worker's home holds from here on is the baseline.
    const std::string warmupContent = "warm-up input " + marker.substr(0, 6) + "\n";
    BOOST_REQUIRE(runHonest(*driver, "warmup", warmupContent));
    const auto warmupDigest = wire::sha256(wire::asBytes(warmupContent));

    const auto walkOptions = systemWalkOptions();
    const auto before = walkFor("/", marker, walkOptions);
    BOOST_TEST_MESSAGE("walk before: " << before.entries << " entries in " << before.took.count()
                                       << " ms" << (before.truncated ? " (truncated)" : ""));
    BOOST_TEST(before.matches.empty());
    const auto rootBefore = listDir("/");
    const auto tmpBefore = listDir("/tmp");
    const auto fixtureBefore = listDir(s.root());
    const auto homeBefore = listDir(s.workerHome("w"));

    std::size_t judged = 0; // refusals the worker must have counted
    // However the rows end: the worker's count, its containers, and the
    // machine.
    AtExit atExit{[&] {
        driver.reset();
        hosted.reset();
        BOOST_TEST(waitNoSession(s, "w"));
        const auto status = s.workerStatus("w");
        BOOST_TEST_MESSAGE("worker status: " << status);
        BOOST_TEST(e2e::numberField(status, "refused") == static_cast<long long>(judged), status);
        BOOST_TEST(s.containersOf(workerId) == 0u);
        BOOST_TEST(a.tokensRefused() == 0u); // every hello carried a token we offered

        // Nothing under the marker anywhere; nothing new next to the homes.
        const auto after = walkFor("/", marker, walkOptions);
        BOOST_TEST_MESSAGE("walk after: " << after.entries << " entries in " << after.took.count()
                                          << " ms" << (after.truncated ? " (truncated)" : ""));
        BOOST_WARN_MESSAGE(!after.truncated, "the walk was cut short");
        for (const auto& m : after.matches)
            BOOST_ERROR("a hostile path exists: " << m);
        for (const auto& n : added(rootBefore, listDir("/")))
            BOOST_ERROR("new in /: " << n);
        // The Podman service works in the fixture's directory, where conmon
        // leaves an "oom" file (see test::logFiles).
        for (const auto& n : added(fixtureBefore, listDir(s.root())))
            if (n != "oom")
                BOOST_ERROR("new in " << s.root() << ": " << n);
        for (const auto& n : added(homeBefore, listDir(s.workerHome("w"))))
            BOOST_ERROR("new in the worker's home: " << n);
        for (const auto& n : added(tmpBefore, listDir("/tmp"))) {
            if (swarmLikeTmpName(n))
                BOOST_ERROR("new in /tmp: " << n);
            else
                BOOST_TEST_MESSAGE("new in /tmp, not a swarm name (another process's): " << n);
        }
        BOOST_TEST(s.stopWorker("w") == 0);
        BOOST_TEST_MESSAGE(
            "part 1 took "
            << std::chrono::duration_cast<std::chrono::seconds>(Steady::now() - started).count()
            << " s");
    }};

    const std::vector<AssignRow> rows = {
        {"unit id climbing out of the worker's home",
         [&](wire::Assign& x) { x.unitId = "../../../../../../.." + tmpdir + "/" + planted; },
         "assign.unitId: '../../", false},
        {"absolute unit id", [&](wire::Assign& x) { x.unitId = tmpdir + "/" + planted; },
         "assign.unitId", false},
        {"NUL in unit id", [&](wire::Assign& x) { x.unitId = planted + std::string("\0x", 2); },
         "assign.unitId", false},
        {"control bytes in unit id", [&](wire::Assign& x) { x.unitId = planted + "\n\r\x1b[2J"; },
         "assign.unitId", false},
        {"invalid UTF-8 unit id", [&](wire::Assign& x) { x.unitId = planted + "\xff\xfe\xc0\xaf"; },
         "assign.unitId", false},
        {"129-byte unit id",
         [&](wire::Assign& x) { x.unitId = planted + std::string(129 - planted.size(), 'a'); },
         "assign.unitId", false},
        {"replica 2^32-1",
         [](wire::Assign& x) { x.replica = std::numeric_limits<std::uint32_t>::max(); },
         "assign.replica", false},
        {"input ../x", [&](wire::Assign& x) { x.inputs[0].name = "../" + planted; },
         "assign.inputs[0].name", true},
        {"input /etc/x", [&](wire::Assign& x) { x.inputs[0].name = "/etc/" + planted; },
         "assign.inputs[0].name", true},
        {"output pattern out/../../x",
         [&](wire::Assign& x) { x.outputs = {"out/../../" + planted}; }, "assign.outputs[0]", true},
        {"env name with =", [&](wire::Assign& x) { x.env["LD_PRELOAD=/tmp/" + planted] = "1"; },
         "assign.env", true},
        {"NUL in argv",
         [&](wire::Assign& x) {
             x.command = {"sh", "-c", "touch " + tmpdir + "/" + planted + std::string("\0x", 2)};
         },
         "assign.command[2]", true},
        {"timeout -1", [](wire::Assign& x) { x.timeoutMs = -1; }, "assign.timeoutMs", true},
        {"timeout 2^63-1",
         [](wire::Assign& x) { x.timeoutMs = std::numeric_limits<std::int64_t>::max(); },
         "assign.timeoutMs", true},
        {"memory 2^63", [](wire::Assign& x) { x.memoryBytes = 1ull << 63; }, "assign.memoryBytes",
         true},
        {"cpus NaN", [](wire::Assign& x) { x.cpus = std::nan(""); }, "assign.cpus", true},
        {"cpus -1", [](wire::Assign& x) { x.cpus = -1; }, "assign.cpus", true},
        {"pids 2^32-1", [](wire::Assign& x) { x.pids = std::numeric_limits<std::uint32_t>::max(); },
         "assign.pids", true},
        {"image --privileged", [](wire::Assign& x) { x.image = "--privileged"; }, "assign.image",
         true},
        {"both image and archive",
         [&](wire::Assign& x) {
             x.imageArchive = net::toRaw(wire::sha256(wire::asBytes(planted)));
         },
         "assign.image", true},
    };

    bool alive = true; // the session is in step with the worker
    for (std::size_t i = 0; i < rows.size() && alive; ++i) {
        const auto& row = rows[i];
        BOOST_TEST_CONTEXT("row '" << row.name << "'") {
            if (!driver->waitDemand()) {
                BOOST_ERROR("the worker stopped asking for work");
                alive = false;
                break;
            }
            // A unit that would run if the judge let it: its input is served.
            const std::string unitId = fmt::format("row-{:02}", i);
            const std::string content = "hostile row " + std::to_string(i) + "\n";
            auto input = serveA.put(wire::asBytes(content));
            BOOST_REQUIRE(input);
            auto assign = honestAssign(unitId, *input, content.size());
            row.spoil(assign);
            driver->send(assign);
            auto answer = driver->answer();
            BOOST_TEST(answer.failure == "");
            BOOST_TEST(answer.asked.empty(), "the worker fetched inputs of a refused unit");
            std::string reason;
            if (row.unitNamed) {
                BOOST_TEST(answer.result.has_value(),
                           "no result; "
                               << (answer.error ? answer.error->message : answer.failure));
                if (answer.result) {
                    BOOST_TEST(answer.result->unitId == unitId);
                    BOOST_TEST(answer.result->outputs.empty());
                    reason = answer.result->error;
                }
            } else {
                BOOST_TEST(answer.error.has_value(),
                           "no error message; "
                               << (answer.result ? "result: '" + answer.result->error + "'"
                                                 : answer.failure));
                if (answer.error) {
                    BOOST_TEST(answer.error->code == wire::kRefusedCode);
                    reason = answer.error->message;
                }
            }
            BOOST_TEST_MESSAGE("row '" << row.name << "': " << reason);
            BOOST_TEST(reason.starts_with("refused: " + row.field), reason);
            // Logged once, with the submitter's peer id and the reason.
            if (reason.starts_with("refused: ")) {
                BOOST_TEST(
                    logHas(log, {"submitter " + a.id() + ": refused assign: " + reason.substr(9)}),
                    "no log line for " << reason);
                ++judged;
            }
            alive = answer.failure.empty() && runHonest(*driver, fmt::format("honest-{:02}", i),
                                                        "honest after row " + std::to_string(i) +
                                                            " " + marker.substr(0, 4) + "\n");
        }
    }
    if (!alive)
        BOOST_REQUIRE(reconnect());

    const std::vector<SessionRow> sessionRows = {
        {"frame over the cap (a 10 MiB string)",
         [&](net::Session& session) {
             wire::Assign x = honestAssign("big", wire::sha256({}), 0);
             x.command = {"sh", "-c", std::string(10 << 20, 'x') + planted};
             auto payload = wire::encodeMessage(x);
             // Session::sendPayload refuses what is over the cap: write the
             // frame by hand, until the worker hangs up.
             if (!session.writeRaw(frameHeader(payload.size())))
                 return;
             for (std::size_t at = 0; at < payload.size(); at += 64 * 1024) {
                 const auto n = std::min<std::size_t>(64 * 1024, payload.size() - at);
                 if (!session.writeRaw(wire::ByteView(payload.data() + at, n)))
                     return;
             }
         },
         {"submitter " + a.id() + ": refused a message: too-large: frame of ",
          "; ending the session"},
         true},
        {"100 000 env entries",
         [&](net::Session& session) {
             wire::Assign x = honestAssign("env", wire::sha256({}), 0);
             for (int i = 0; i < 100'000; ++i)
                 x.env["V" + std::to_string(i)] = "";
             auto payload = wire::encodeMessage(x);
             BOOST_REQUIRE_LT(payload.size(), wire::kDefaultMaxFrame); // the map limit, not the cap
             BOOST_TEST(session.sendPayload(payload).has_value());
         },
         {"submitter " + a.id() + ": refused a message: too-large: ", "map",
          "; ending the session"},
         true},
        {"assign of the wrong shape (unitId a number, replica a string)",
         [&](net::Session& session) {
             msgpack::sbuffer buf;
             msgpack::packer<msgpack::sbuffer> pk(buf);
             pk.pack_array(2);
             pk.pack(static_cast<std::uint16_t>(wire::MsgType::kAssign));
             pk.pack_map(3);
             pk.pack(std::string("version"));
             pk.pack(1);
             pk.pack(std::string("unitId"));
             pk.pack(42);
             pk.pack(std::string("replica"));
             pk.pack(planted);
             auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
             BOOST_TEST(session.sendPayload(wire::ByteView(p, buf.size())).has_value());
         },
         {"submitter " + a.id() + ": refused assign: ", "; ending the session"},
         true},
        {"cancel with unit id ../x",
         [&](net::Session& session) {
             BOOST_TEST(session
                            .send(wire::Cancel{
                                .unitId = "../" + planted, .replica = 0, .reason = "hostile"})
                            .has_value());
         },
         {"submitter " + a.id() + ": refused cancel: cancel.unitId: ", "; ending the session"},
         true},
        {"bye giving back ../x/1",
         [&](net::Session& session) {
             BOOST_TEST(
                 session.send(wire::Bye{.reason = "hostile", .givenBack = {"../" + planted + "/1"}})
                     .has_value());
         },
         {"submitter " + a.id() + ": refused bye: bye.givenBack[0]: ", "; ending the session"},
         true},
    };

    // Knowing a digest is not enough: B names the input A's warm-up unit
    // left in the worker's cache. The worker must ask B for it; B does not
    // have it; the unit never runs.
    auto probeB = [&] {
        TestSubmitter b(s.submitterHomeOf("b"), s.dhtPort(), {workerId});
        auto hb = connect(b, workerId);
        BOOST_TEST(hb != nullptr, "the worker never dialed B's offer");
        if (!hb)
            return;
        Driver db{hb->session(), serveB, received};
        BOOST_TEST(db.waitDemand());
        if (db.demand == 0)
            return;
        db.send(honestAssign("b-probe", warmupDigest, warmupContent.size()));
        auto answer = db.answer();
        BOOST_TEST(askedFor(answer.asked, warmupDigest), "the worker did not ask B for the digest");
        BOOST_TEST(answer.result.has_value(), "no result: " << answer.failure);
        if (answer.result) {
            BOOST_TEST(answer.result->error.starts_with("inputs could not be fetched"),
                       answer.result->error);
            BOOST_TEST(answer.result->outputs.empty());
        }
        BOOST_TEST(!logHas(log, {"unit b-probe/0 done: exit 0"}, 0ms));
    };

    bool didB = false;
    for (std::size_t i = 0; i < sessionRows.size(); ++i) {
        const auto& row = sessionRows[i];
        BOOST_TEST_CONTEXT("session row '" << row.name << "'") {
            if (!driver->waitDemand()) {
                BOOST_ERROR("the worker stopped asking for work");
                BOOST_REQUIRE(reconnect());
                continue;
            }
            row.send(hosted->session());
            std::string seen;
            BOOST_TEST(waitClosed(hosted->session(), seen, kAnswer),
                       "the worker kept the session open");
            BOOST_TEST(seen == "", "the worker answered " << seen);
            BOOST_TEST(logHas(log, row.logLine), "no such log line");
            judged += row.judged ? 1 : 0;
            driver.reset();
            hosted.reset();
            BOOST_TEST(waitNoSession(s, "w"), "the worker kept its session");
            if (!didB) {
                didB = true;
                BOOST_TEST_CONTEXT("submitter B names A's cached input") {
                    probeB();
                }
                BOOST_TEST(waitNoSession(s, "w"), "the worker kept B's session");
            }
            // Only that session ended: a new offer is served.
            BOOST_REQUIRE(reconnect());
            BOOST_REQUIRE(runHonest(*driver, fmt::format("after-session-{:02}", i),
                                    "after session row " + std::to_string(i) + "\n"));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

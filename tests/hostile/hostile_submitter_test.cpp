// Hostile trusted workers against a real swarm-submit.
//
// Fake workers in the test process, one identity per row, announce one slot
// each, dial the offer the submitter sends them, take one unit and answer it
// with a result that breaks one rule of the judge (wire/judge.hpp). The
// submitter must end each such session, say which field it refused, end the
// replica as an error when the result names it, and go on: a real worker
// started afterwards finishes the job with every unit valid. No file named
// with the run's marker may exist anywhere afterwards, and nothing may be
// added outside the job directory.

#include "dht/offer_box.hpp"
#include "e2e/swarm_fixture.hpp"
#include "hostile/fs_walk.hpp"
#include "hostile/hostile_peers.hpp"
#include "net/blob_transfer.hpp"
#include "net/session.hpp"
#include "wire/bytes.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"

#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

using namespace swarm;
using namespace swarm::hostile;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;

std::string randomMarker() {
    std::array<std::uint8_t, 8> r{};
    wire::randomBytes(r);
    return "hy" + wire::toHex(r);
}

struct ResultRow {
    std::string name;
    std::function<void(wire::Result&)> spoil;
    std::string field; ///< the refusal names it; "" when the result must be accepted
    bool unitNamed;    ///< the refused result still names the replica the worker holds
};

// What one fake worker saw.
struct Outcome {
    std::optional<wire::Assign> assign;
    std::string failure; // before the hostile result went out
    bool closed = false; // the submitter ended the session after the result
    std::string seen;    // messages the submitter sent after the result
};

// A result for `a` that an honest worker could have sent (outputs not sent).
wire::Result validResult(const wire::Assign& a) {
    wire::Result r;
    r.unitId = a.unitId;
    r.replica = a.replica;
    r.exitCode = 0;
    r.wallMs = 25;
    const auto empty = net::toRaw(wire::sha256({}));
    const auto copy = net::toRaw(wire::sha256(wire::asBytes("copy")));
    r.outputs = {wire::FileRef{"stdout", empty, 0}, wire::FileRef{"stderr", empty, 0},
                 wire::FileRef{"out/copy", copy, 4}};
    return r;
}

// One session of a fake worker: the first offer it gets, one unit, the
// hostile result, then whatever the submitter does.
Outcome playRow(FakeWorker& fake, const ResultRow& row) {
    Outcome o;
    auto offer = fake.nextOffer(90s);
    if (!offer) {
        o.failure = "no offer within 90 s";
        return o;
    }
    auto dialed = fake.dial(*offer);
    if (!dialed) {
        o.failure = "dial: " + net::describe(dialed.error());
        return o;
    }
    auto& session = **dialed;
    if (!session.send(wire::RequestWork{.slots = 1})) {
        o.failure = "request-work not sent";
        return o;
    }
    while (!o.assign) {
        auto msg = session.receive(60s);
        if (!msg) {
            o.failure = "waiting for an assign: " + net::describe(msg.error());
            return o;
        }
        switch (msg->type) {
        case wire::MsgType::kAssign: {
            auto a = wire::bodyAs<wire::Assign>(*msg);
            if (!a) {
                o.failure = "assign: " + a.error().what;
                return o;
            }
            o.assign = std::move(*a);
            break;
        }
        case wire::MsgType::kNoWork:
            continue; // work-ready follows when there is a unit again
        case wire::MsgType::kWorkReady:
            if (!session.send(wire::RequestWork{.slots = 1})) {
                o.failure = "request-work not sent";
                return o;
            }
            continue;
        default:
            o.failure = std::string("unexpected ") + wire::msgTypeName(msg->type);
            return o;
        }
    }
    auto result = validResult(*o.assign);
    row.spoil(result);
    if (!session.send(result)) {
        o.failure = "result not sent";
        return o;
    }
    // The outputs follow at once, unasked, as from an honest worker: were
    // the result accepted, the submitter would store them under the names
    // the result gave. Sending may fail once the submitter hangs up.
    for (const auto& out : result.outputs) {
        const std::string_view data = out.size == 0 ? "" : "copy";
        if (net::toDigest(out.digest) != wire::sha256(wire::asBytes(data)))
            continue;
        wire::BlobChunk chunk;
        chunk.digest = out.digest;
        chunk.total = data.size();
        chunk.data.assign(data.begin(), data.end());
        if (!session.send(chunk))
            break;
    }
    // A refused result ends the session at once; an accepted one does not.
    const auto deadline = Steady::now() + (row.field.empty() ? 2s : 15s);
    while (Steady::now() < deadline) {
        auto msg = session.receive(500ms);
        if (msg) {
            o.seen += std::string(wire::msgTypeName(msg->type)) + " ";
            continue;
        }
        if (msg.error().code == net::Error::Code::kTimeout && !session.broken())
            continue;
        o.closed = true;
        break;
    }
    if (!o.closed)
        (void)session.send(wire::Bye{.reason = "one unit only"});
    session.close();
    return o;
}

std::string inputName(std::size_t i) {
    return fmt::format("part-{:02}.txt", i);
}

std::string inputText(std::size_t i) {
    return fmt::format("input {} of the hostile job\n", i);
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_workers_against_a_real_submitter)

BOOST_AUTO_TEST_CASE(every_hostile_result_is_refused_by_field_and_the_job_still_finishes) {
    const auto started = Steady::now();
    auto& s = theSwarm();
    const std::string marker = randomMarker();
    const std::string planted = "planted-" + marker;

    const std::vector<ResultRow> rows = {
        {"output name out/../../../../tmp/planted",
         [&](wire::Result& r) { r.outputs[2].name = "out/../../../../tmp/" + planted; },
         "result.outputs[2].name", true},
        {"output name /etc/planted",
         [&](wire::Result& r) { r.outputs[2].name = "/etc/" + planted; }, "result.outputs[2].name",
         true},
        {"output name outside stdout, stderr and out/",
         [&](wire::Result& r) { r.outputs[2].name = "secret-" + planted; },
         "result.outputs[2].name", true},
        {"output listed twice", [](wire::Result& r) { r.outputs.push_back(r.outputs[2]); },
         "result.outputs[3].name", true},
        {"unit id ../x", [&](wire::Result& r) { r.unitId = "../" + planted; }, "result.unitId",
         false},
        {"replica 2^31", [](wire::Result& r) { r.replica = 1u << 31; }, "result.replica", false},
        {"exit code 2^30", [](wire::Result& r) { r.exitCode = 1 << 30; }, "result.exitCode", true},
        {"wall time -1", [](wire::Result& r) { r.wallMs = -1; }, "result.wallMs", true},
        {"error text of invalid UTF-8 (cleaned, accepted)",
         [](wire::Result& r) {
             r.exitCode = 1;
             r.outputs.clear();
             r.error = "bad \xff\xfe bytes \xc0\xaf and \x1b[2J";
         },
         "", true},
    };

    // The fakes' identities and trust, and a real worker that is created
    // now (the submitter reads its trust list when it starts) and started
    // once the fakes are done.
    std::vector<std::unique_ptr<FakeWorker>> fakes;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto name = fmt::format("fake-{:02}", i);
        s.createWorker(name);
        fakes.push_back(std::make_unique<FakeWorker>(s.workerHome(name), s.dhtPort()));
    }
    const auto realId = s.createWorker("late");

    const auto dir = s.root() / "hostile-submit";
    std::filesystem::create_directories(dir / "inputs");
    const std::size_t units = rows.size() + 1;
    for (std::size_t i = 0; i < units; ++i)
        std::ofstream(dir / "inputs" / inputName(i)) << inputText(i);
    const auto job = dir / "hostile.toml";
    std::ofstream(job) << "name = \"hostile\"\n"
                       << "image = \"localhost/swarm-test:latest\"\n"
                       << "command = [\"sh\", \"-c\", \"cat {} > out/copy\"]\n"
                       << "inputs = \"inputs/*.txt\"\n"
                       << "outputs = [\"out/copy\"]\n"
                       << "replicas = 1\nquorum = 1\nmax_errors = 50\n"
                       << "timeout = \"60s\"\n";
    const auto events = dir / "events.jsonl";

    const auto walkOptions = systemWalkOptions();
    const auto rootBefore = listDir("/");
    const auto tmpBefore = listDir("/tmp");
    const auto fixtureBefore = listDir(s.root());
    const auto dirBefore = listDir(dir);
    const auto homeBefore = listDir(s.submitterHome());

    auto submit = s.startSubmit({"run", job.string(), "--out", (dir / "job").string()}, events);
    std::vector<std::future<Outcome>> playing;
    for (std::size_t i = 0; i < rows.size(); ++i)
        playing.push_back(
            std::async(std::launch::async, [&, i] { return playRow(*fakes[i], rows[i]); }));
    std::vector<Outcome> outcomes;
    for (auto& p : playing)
        outcomes.push_back(p.get());

    // The submitter still serves honest work after refusing.
    s.startWorker("late");
    auto status = submit->wait(180s);
    if (!status) {
        submit->signal(SIGKILL);
        submit->wait(10s);
    }
    BOOST_TEST((status && *status == 0), "swarm-submit did not finish with 0:\n"
                                             << e2e::readFile(events.string() + ".log"));

    const auto refusedEvents = e2e::eventsOf(events, "message-refused");
    const auto endedEvents = e2e::eventsOf(events, "replica-ended");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        const auto& o = outcomes[i];
        const auto& fakeId = fakes[i]->id();
        BOOST_TEST_CONTEXT("row '" << row.name << "' (worker " << fakeId.substr(0, 12) << ")") {
            BOOST_TEST(o.failure == "");
            if (!o.assign)
                continue;
            const auto& unit = o.assign->unitId;
            const long long replica = o.assign->replica;
            std::vector<std::string> refusedHere;
            for (const auto& e : refusedEvents)
                if (e2e::field(e, "worker") == fakeId)
                    refusedHere.push_back(e);
            std::vector<std::string> endedHere;
            for (const auto& e : endedEvents)
                if (e2e::field(e, "worker") == fakeId && e2e::field(e, "unit") == unit &&
                    e2e::numberField(e, "replica") == replica)
                    endedHere.push_back(e);
            BOOST_TEST(endedHere.size() == 1u);
            if (endedHere.empty())
                continue;
            const auto& ended = endedHere.front();
            BOOST_TEST_MESSAGE("row '" << row.name << "': " << ended);
            if (row.field.empty()) {
                BOOST_TEST(!o.closed, "the submitter ended the session");
                BOOST_TEST(refusedHere.empty());
                BOOST_TEST(e2e::field(ended, "state") == "errored");
                const auto reason = e2e::field(ended, "reason");
                BOOST_TEST(reason.starts_with("worker error: bad \xEF\xBF\xBD"), reason);
                BOOST_TEST(reason.find('\x1b') == std::string::npos);
                BOOST_TEST(reason.find("\\u001b") == std::string::npos, reason);
                continue;
            }
            BOOST_TEST(o.closed, "the submitter kept the session open");
            BOOST_TEST(o.seen == "", "the submitter sent " << o.seen);
            BOOST_TEST(refusedHere.size() == 1u);
            if (!refusedHere.empty()) {
                BOOST_TEST(e2e::field(refusedHere.front(), "message") == "result");
                const auto reason = e2e::field(refusedHere.front(), "reason");
                BOOST_TEST(reason.starts_with(row.field + ": "), reason);
            }
            if (row.unitNamed) {
                BOOST_TEST(e2e::field(ended, "state") == "errored", ended);
                BOOST_TEST(e2e::field(ended, "reason").starts_with("refused: " + row.field), ended);
            } else {
                // The result named no replica the worker holds: the one it
                // held is lost with the session.
                BOOST_TEST(e2e::field(ended, "state") == "lost", ended);
            }
        }
    }

    // Every unit valid, with the right content, from the real worker.
    const auto results = dir / "job" / "results";
    for (std::size_t i = 0; i < units; ++i)
        BOOST_TEST(e2e::readFile(results / inputName(i) / "out/copy") == inputText(i),
                   inputName(i));
    const auto summary = e2e::readFile(dir / "job" / "summary.json");
    BOOST_TEST(summary.find("\"failed\":0") != std::string::npos, summary);
    BOOST_TEST(summary.find("\"valid\":" + std::to_string(units)) != std::string::npos, summary);
    for (const auto& e : e2e::eventsOf(events, "unit-valid"))
        for (const auto& f : fakes)
            BOOST_TEST(e.find(f->id()) == std::string::npos, "a fake's result was accepted: " << e);
    BOOST_TEST(s.stopWorker("late") == 0);
    BOOST_TEST(s.containersOf(realId) == 0u);

    // Nothing under the marker anywhere; nothing new outside the job dir.
    const auto after = walkFor("/", marker, walkOptions);
    BOOST_TEST_MESSAGE("walk: " << after.entries << " entries in " << after.took.count() << " ms"
                                << (after.truncated ? " (truncated)" : ""));
    BOOST_WARN_MESSAGE(!after.truncated, "the walk was cut short");
    for (const auto& m : after.matches)
        BOOST_ERROR("a hostile path exists: " << m);
    for (const auto& n : added(rootBefore, listDir("/")))
        BOOST_ERROR("new in /: " << n);
    // Starting the real worker made its stdout and log files; the Podman
    // service works in the fixture's directory, where conmon leaves an
    // "oom" file (see test::logFiles).
    for (const auto& n : added(fixtureBefore, listDir(s.root())))
        if (n != "late.out" && n != "late.log" && n != "oom")
            BOOST_ERROR("new in " << s.root() << ": " << n);
    for (const auto& n : added(dirBefore, listDir(dir)))
        if (n != "job" && n != "events.jsonl" && n != "events.jsonl.log")
            BOOST_ERROR("new next to the job dir: " << n);
    // The run adds itself to the index of the researcher's jobs, and only that.
    for (const auto& n : added(homeBefore, listDir(s.submitterHome())))
        if (n != "jobs.tsv")
            BOOST_ERROR("new in the submitter's home: " << n);
    for (const auto& n : added(tmpBefore, listDir("/tmp"))) {
        if (swarmLikeTmpName(n))
            BOOST_ERROR("new in /tmp: " << n);
        else
            BOOST_TEST_MESSAGE("new in /tmp, not a swarm name (another process's): " << n);
    }
    // Each fake withdraws its record on the way out (bounded): in parallel.
    std::vector<std::future<void>> leaving;
    for (auto& f : fakes)
        leaving.push_back(
            std::async(std::launch::async, [f = std::move(f)]() mutable { f.reset(); }));
    leaving.clear();
    BOOST_TEST_MESSAGE(
        "part 2 took "
        << std::chrono::duration_cast<std::chrono::seconds>(Steady::now() - started).count()
        << " s");
}

BOOST_AUTO_TEST_SUITE_END()

#include "submitter/follow_server.hpp"

#include "submitter/batch.hpp"
#include "wire/bytes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <thread>

namespace swarm::submitter {

using namespace std::chrono_literals;

namespace {

// How long after the worker's end the run waits for the replica's result
// (the worker sends it right after), to report how it ended.
constexpr auto kResultGrace = 10s;

struct Request {
    std::string unit;
    std::optional<std::uint32_t> replica; // nullopt: the first running one
};

std::optional<Request> parse(std::string_view args) {
    const auto space = args.find(' ');
    if (space == std::string_view::npos || space == 0)
        return std::nullopt;
    Request r{std::string(args.substr(0, space)), std::nullopt};
    const auto n = args.substr(space + 1);
    if (n == "-")
        return r;
    std::uint32_t replica = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), replica);
    if (ec != std::errc() || end != n.data() + n.size() || n.empty())
        return std::nullopt;
    r.replica = replica;
    return r;
}

// The replica's record now, if the unit has it.
std::optional<ReplicaRecord> recordOf(const Batch& batch, const std::string& unit,
                                      std::uint32_t replica) {
    const auto view = batch.view();
    for (const auto& r : view.snapshot.replicas)
        if (r.unitId == unit && r.replica == replica)
            return r;
    return std::nullopt;
}

// The replica to follow: running, on a connected worker that can stream.
std::expected<ReplicaRecord, std::string> pick(Batch& batch, const Request& req) {
    const auto& units = batch.job().units;
    if (std::none_of(units.begin(), units.end(), [&](const auto& u) { return u.id == req.unit; }))
        return std::unexpected(fmt::format("error no unit '{}' in this job", req.unit));
    const auto view = batch.view();
    std::string why;
    for (const auto& r : view.snapshot.replicas) {
        if (r.unitId != req.unit || (req.replica && r.replica != *req.replica))
            continue;
        if (r.state != ReplicaState::kInFlight) {
            why = fmt::format("replica {} is {}", r.replica, stateName(r.state));
            continue;
        }
        if (!view.connectedNow.contains(r.worker)) {
            why = fmt::format("replica {}'s worker {} is not connected", r.replica,
                              r.worker.substr(0, 12));
            continue;
        }
        if (!batch.follows().canFollow(r.worker)) {
            why = fmt::format("replica {}'s worker {} runs a version that cannot stream output",
                              r.replica, r.worker.substr(0, 12));
            continue;
        }
        return r;
    }
    if (why.empty())
        why = req.replica ? fmt::format("replica {} was not issued", *req.replica)
                          : std::string("no replica is running");
    return std::unexpected(fmt::format("error not-running unit '{}': {}", req.unit, why));
}

// One event as data lines; false once the client is gone.
bool pass(const LogFollows::Event& e, const ControlSocket::Answer& answer) {
    const char* tag = e.stream == "stderr" ? "err" : "out";
    if (e.skipped > 0 && !answer(fmt::format("skip {} {}", e.stream, e.skipped)))
        return false;
    const wire::ByteView bytes(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size());
    if (!e.data.empty() && !answer(fmt::format("{} {} {}", tag, e.offset, wire::toHex(bytes))))
        return false;
    return !e.truncated || answer(fmt::format("truncated {}", e.stream));
}

// After the worker's end: how the replica ended, once its result is in.
std::string finalLine(const Batch& batch, const ReplicaRecord& followed) {
    const auto deadline = std::chrono::steady_clock::now() + kResultGrace;
    for (;;) {
        auto r = recordOf(batch, followed.unitId, followed.replica);
        if (r && r->state != ReplicaState::kInFlight)
            return fmt::format("ok {} {} {}", r->replica, stateName(r->state), r->exitCode);
        if (std::chrono::steady_clock::now() >= deadline)
            return fmt::format("ok {} running", followed.replica);
        std::this_thread::sleep_for(100ms);
    }
}

} // namespace

std::string serveFollow(Batch& batch, std::string_view args, const ControlSocket::Answer& answer) {
    const auto req = parse(args);
    if (!req)
        return "error follow wants UNIT REPLICA (a number, or - for the first running one)";
    auto picked = pick(batch, *req);
    if (!picked)
        return picked.error();
    auto& follows = batch.follows();
    auto follower = follows.follow(picked->worker, picked->unitId, picked->replica);
    if (!follower)
        return fmt::format("error not-running unit '{}': its worker cannot stream output now",
                           req->unit);
    if (!answer(fmt::format("info {} {}", picked->replica, picked->worker))) {
        follows.stop(follower);
        return "error the client left";
    }
    for (;;) {
        auto events = follower->wait(1s);
        bool ended = false;
        bool here = true;
        for (const auto& e : events) {
            if (e.end) {
                ended = true;
                break;
            }
            here = pass(e, answer);
            if (!here)
                break;
        }
        if (ended)
            return finalLine(batch, *picked);
        // A quiet second: is anyone still reading? (a Ctrl-C'd client
        // leaves no other trace)
        if (here && events.empty())
            here = answer(".");
        if (!here) {
            follows.stop(follower);
            return "error the client left";
        }
        // The result came without the worker's end (the session broke
        // and the worker's last chunk with it).
        auto r = recordOf(batch, picked->unitId, picked->replica);
        if (events.empty() && r && r->state != ReplicaState::kInFlight) {
            follows.stop(follower);
            return finalLine(batch, *picked);
        }
    }
}

} // namespace swarm::submitter

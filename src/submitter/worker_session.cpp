#include "submitter/worker_session.hpp"

#include "net/blob_transfer.hpp"
#include "net/relay_client.hpp"
#include "net/session.hpp"
#include "submitter/batch.hpp"
#include "submitter/progress.hpp"
#include "submitter/replica_report.hpp"
#include "submitter/reporter.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"
#include "wire/peer_id.hpp"

#include <algorithm>

namespace swarm::submitter {

namespace {
const wire::Logger kLog("submit");
// How long a receive waits before the session looks what it owes the
// worker (work that appeared, cancels, the end of the job).
constexpr auto kPoll = std::chrono::milliseconds(200);
// A worker with everything cached never asks for inputs: the list of
// replicas awaiting theirs is bounded.
constexpr std::size_t kMaxAwaiting = 4096;
} // namespace

WorkerSession::WorkerSession(Batch& batch, net::Session& session, const wire::Hello& hello)
    : batch_(batch), session_(session), wid_(wire::PeerId(session.peer()).str()),
      who_(wid_.substr(0, 12)), hello_(hello),
      handsBack_(hello.version >= wire::Hello::kWithNoWork) {}

void WorkerSession::serve() {
    const auto& clock = batch_.clock();
    auto& report = batch_.reporter();
    const std::string path(net::sessionPath(session_.peerAddress()));
    if (!batch_.connect(wid_, path, session_.peerAddress())) {
        kLog.warn("worker {} connected twice; keeping the first session", who_);
        (void)session_.send(wire::ErrorMsg{.code = 409, .message = "already connected"});
        return;
    }
    batch_.follows().workerConnected(wid_, hello_.version >= wire::Hello::kWithFollow);
    report.emit(event::workerConnected(clock.nowMs(), wid_, path, session_.peerAddress()));
    kLog.info("worker {} connected {} from {} ({}, {} slots)", who_, path, session_.peerAddress(),
              hello_.software, hello_.slots);
    while (pushWork()) {
        auto msg = session_.receive(kPoll);
        if (!msg) {
            if (msg.error().code == net::Error::Code::kTimeout && !session_.broken())
                continue;
            reason_ = net::describe(msg.error());
            if (msg.error().code == net::Error::Code::kTooLarge ||
                msg.error().code == net::Error::Code::kProtocol) {
                // Over the frame cap or undecodable: refused before the judge.
                kLog.warn("worker {}: refused a message: {}; ending the session", wid_, reason_);
                report.emit(event::messageRefused(clock.nowMs(), wid_, "frame", reason_));
            }
            break;
        }
        if (!handle(*msg))
            break;
    }
    batch_.follows().workerLeft(wid_);
    batch_.disconnect(wid_, !saidBye_ || finished_, reason_);
    kLog.info("worker {} left: {}", who_, reason_);
    report.emit(event::workerDisconnected(clock.nowMs(), wid_, reason_));
}

// Sends what the worker is owed now: cancels, assigns for its demand,
// no-work for the rest, work-ready, or bye when the job is finished. False
// when the session is over.
bool WorkerSession::pushWork() {
    auto owed = batch_.owed(wid_, demand_, idle_);
    finished_ = owed.finished;
    if (finished_) {
        (void)session_.send(wire::Bye{.reason = "job finished"});
        saidBye_ = true;
        reason_ = "job finished";
        return false;
    }
    const bool asked = demand_ > 0;
    demand_ -= static_cast<std::uint32_t>(owed.assigns.size());
    std::uint32_t declined = 0;
    if (asked && handsBack_) {
        declined = demand_;
        demand_ = 0;
    }
    bool ok = true;
    for (const auto& c : owed.cancels)
        ok = ok && session_.send(c).has_value();
    for (std::size_t i = 0; i < owed.assigns.size(); ++i) {
        awaitInputs(owed.assigned[i], owed.assigns[i]);
        ok = ok && session_.send(owed.assigns[i]).has_value();
    }
    if (declined > 0) {
        ok = ok && session_.send(wire::NoWork{.slots = declined}).has_value();
        idle_ = true;
    }
    if (owed.workReady) {
        ok = ok && session_.send(wire::WorkReady{}).has_value();
        idle_ = false;
    }
    for (const auto& f : batch_.follows().owed(wid_))
        ok = ok && session_.send(f).has_value();
    return ok;
}

void WorkerSession::awaitInputs(const Assignment& a, const wire::Assign& assign) {
    if (!batch_.reporter().json())
        return;
    AwaitingInputs w{a, {}};
    for (const auto& in : assign.inputs)
        w.digests.push_back(in.digest);
    if (assign.imageArchive != wire::RawDigest{})
        w.digests.push_back(assign.imageArchive);
    if (w.digests.empty())
        return;
    awaiting_.push_back(std::move(w));
    while (awaiting_.size() > kMaxAwaiting)
        awaiting_.pop_front();
}

// One message from the worker. False when the session is over.
bool WorkerSession::handle(const wire::RawMessage& msg) {
    auto body = [&]<typename T>(std::type_identity<T>) -> std::optional<T> {
        auto b = session_.bodyOrBreak<T>(msg);
        if (!b) {
            reason_ = refused(msg, b.error());
            return std::nullopt;
        }
        return std::move(*b);
    };
    switch (msg.type) {
    case wire::MsgType::kRequestWork: {
        auto req = body(std::type_identity<wire::RequestWork>{});
        if (!req)
            return false;
        demand_ = std::min<std::uint32_t>(demand_ + req->slots, 1024);
        idle_ = false;
        return true;
    }
    case wire::MsgType::kNeedBlobs: {
        auto req = body(std::type_identity<wire::NeedBlobs>{});
        return req && serveInputs(*req);
    }
    case wire::MsgType::kResult: {
        auto result = body(std::type_identity<wire::Result>{});
        return result && receiveResult(*result);
    }
    case wire::MsgType::kBye: {
        auto bye = body(std::type_identity<wire::Bye>{});
        if (!bye)
            return false;
        batch_.workerBye(wid_, bye->givenBack);
        saidBye_ = true;
        reason_ = "bye: " + bye->reason;
        return false;
    }
    case wire::MsgType::kProgress: {
        auto progress = body(std::type_identity<wire::Progress>{});
        if (progress)
            batch_.reportProgress(wid_, *progress);
        return progress.has_value();
    }
    case wire::MsgType::kLogChunk: {
        // Followed or not, a chunk never ends the session: one for a
        // replica nobody follows here (any more) is dropped.
        auto chunk = body(std::type_identity<wire::LogChunk>{});
        if (chunk && !batch_.follows().deliver(wid_, *chunk))
            kLog.debug("worker {}: dropped a log-chunk of {}/{} nobody follows", who_,
                       chunk->unitId, chunk->replica);
        return chunk.has_value();
    }
    case wire::MsgType::kError: {
        // The worker refused an assign it could not name (docs/protocol.md):
        // only that replica is lost, and its lease will say so.
        auto err = body(std::type_identity<wire::ErrorMsg>{});
        if (!err)
            return false;
        kLog.warn("worker {} reported an error {}: {}", who_, err->code, err->message);
        if (err->code == wire::kRefusedCode)
            return true;
        reason_ = "error: " + err->message;
        return false;
    }
    default:
        reason_ = std::string("unexpected ") + wire::msgTypeName(msg.type);
        return false;
    }
}

bool WorkerSession::serveInputs(const wire::NeedBlobs& req) {
    if (!net::serveBlobs(session_, batch_.blobs(), req))
        return false;
    auto match = std::find_if(awaiting_.begin(), awaiting_.end(), [&](const auto& w) {
        return std::any_of(w.digests.begin(), w.digests.end(), [&](const auto& d) {
            return std::find(req.digests.begin(), req.digests.end(), d) != req.digests.end();
        });
    });
    if (match != awaiting_.end()) {
        batch_.reporter().emit(event::inputsSent(batch_.clock().nowMs(), match->assignment));
        awaiting_.erase(awaiting_.begin(), std::next(match));
    }
    return true;
}

bool WorkerSession::receiveResult(const wire::Result& result) {
    batch_.reporter().emit(event::resultReceived(batch_.clock().nowMs(), result.unitId,
                                                 result.replica, wid_, result.wallMs));
    // The outputs follow the result, in order (docs/protocol.md).
    std::string blobError;
    wire::Result arrived = result; // what the journal may point at
    arrived.outputs.clear();
    for (const auto& out : result.outputs) {
        auto got = net::receiveBlob(session_, batch_.blobs(), net::toDigest(out.digest), {});
        if (!got) {
            if (session_.broken())
                return false;
            blobError = "output " + out.name + ": " + net::describe(got.error());
        } else {
            arrived.outputs.push_back(out);
        }
    }
    if (result.givenBack) {
        // Not a result: the replica ends given back, its checkpoint (what
        // arrived of it) kept for the next replica.
        std::vector<OutputFile> checkpoint;
        if (blobError.empty())
            for (const auto& f : arrived.outputs)
                checkpoint.push_back({f.name, net::toDigest(f.digest), f.size});
        std::string why = result.error;
        if (!blobError.empty())
            why = "checkpoint lost: " + blobError;
        batch_.giveBack(wid_, result.unitId, result.replica, std::move(checkpoint), why);
        return true;
    }
    if (blobError.empty()) {
        batch_.reportResult(wid_, result.unitId, result.replica, reportFromResult(result));
    } else {
        arrived.error = blobError;
        auto report = reportFromResult(arrived); // an error with the logs that came
        report.error = blobError;
        batch_.reportResult(wid_, result.unitId, result.replica, report);
    }
    return true;
}

// A message from a worker the judge refused (or that does not decode) ends
// the session: outputs that would follow a refused result cannot be matched
// to it. A refused result that names a replica this worker holds ends that
// replica as an error with the judge's reason; the worker's other replicas
// are reissued as for any disconnect. Logged once and emitted as an event.
std::string WorkerSession::refused(const wire::RawMessage& msg, const net::Error& why) {
    const std::string type = wire::msgTypeName(msg.type);
    kLog.warn("worker {}: refused {}: {}; ending the session", wid_, type, why.what);
    batch_.reporter().emit(event::messageRefused(batch_.clock().nowMs(), wid_, type, why.what));
    if (auto key = wire::unitKeyOf(msg); key && msg.type == wire::MsgType::kResult)
        batch_.reportResult(wid_, key->unitId, key->replica,
                            ReplicaReport::failure("refused: " + why.what));
    return "refused " + type + ": " + why.what;
}

} // namespace swarm::submitter

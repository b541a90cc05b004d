#pragma once

#include "submitter/scheduler.hpp"
#include "wire/messages.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace swarm::net {
class Session;
struct Error;
} // namespace swarm::net

namespace swarm::submitter {

class Batch;

/// One worker's session, on the listener's thread for it: hands out
/// replicas for the slots it asks for (no-work for the rest, work-ready
/// when there is some again), sends cancels, serves its input fetches and
/// takes its results and their outputs. Protocol only: the Batch decides.
class WorkerSession {
public:
    WorkerSession(Batch& batch, net::Session& session, const wire::Hello& hello);

    /// Serves until the session ends or the job is finished (bye sent).
    void serve();

private:
    bool pushWork();
    bool handle(const wire::RawMessage& msg);
    bool serveInputs(const wire::NeedBlobs& req);
    bool receiveResult(const wire::Result& result);
    std::string refused(const wire::RawMessage& msg, const net::Error& why);
    void awaitInputs(const Assignment& a, const wire::Assign& assign);

    Batch& batch_;
    net::Session& session_;
    const WorkerId wid_;
    const std::string who_; // short id for logs
    const wire::Hello hello_;
    // Slots the worker asked for and was not given a unit for yet. A worker
    // that understands no-work gets them back at once when there is no unit
    // for them, so it can lend them to other submitters, and hears
    // work-ready when there is one again; an older worker's demand is kept
    // here instead, and served as work appears.
    std::uint32_t demand_ = 0;
    const bool handsBack_;
    bool idle_ = false; // answered no-work, and the worker has not asked since
    bool saidBye_ = false;
    bool finished_ = false; // the job is: no more messages
    std::string reason_ = "disconnected";
    // Replicas sent whose inputs the worker has not asked for yet, in the
    // order sent: a worker fetches the inputs of each assignment in turn, so
    // the first one sharing a digest with a need-blobs request is the one it
    // is for (for the inputs-sent event only).
    struct AwaitingInputs {
        Assignment assignment;
        std::vector<wire::RawDigest> digests;
    };
    std::deque<AwaitingInputs> awaiting_;
};

} // namespace swarm::submitter

#pragma once

#include "cli/program.hpp"
#include "worker/control_request.hpp"

#include <string>

namespace swarm::worker {

class Worker;

/// The daemon's answer to a control request (ControlServer::Handler):
/// the status, or for suspend and resume one JSON line
/// {"suspended": BOOL, "why": "user until 16:42"}. Thread-safe.
std::string answerControl(Worker& worker, const ControlRequest& request);

/// `swarm-worker suspend [--for DURATION]`: asks the running daemon to
/// suspend (units frozen, no new work) until `resume` or for DURATION.
cli::Command suspendCommand();
/// `swarm-worker resume`: ends the volunteer's suspension.
cli::Command resumeCommand();

} // namespace swarm::worker

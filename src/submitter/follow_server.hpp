#pragma once

#include "submitter/control_socket.hpp"

#include <string>
#include <string_view>

namespace swarm::submitter {

class Batch;

/// The run's side of `swarm-submit logs DIR UNIT --follow`: the control
/// request "follow UNIT REPLICA" (REPLICA a number, or "-" for the first
/// running one). Data lines, in order:
///   "info REPLICA WORKER"       the replica followed, and its worker
///   "out OFFSET HEX" / "err OFFSET HEX"   bytes of stdout / stderr
///   "skip STREAM N"             N bytes of STREAM were missed
///   "truncated STREAM"          the worker's log cap dropped the rest
///   "."                         nothing new (the client is still there?)
/// then the final line "ok REPLICA STATE EXIT" once the replica ended (or
/// "ok REPLICA running" if its worker stops streaming while it still
/// runs), "error not-running ..." when the unit has no replica running
/// that can be followed, or "error ..." for a bad request. A client that
/// goes away (Ctrl-C) is noticed within a second: the follow is turned
/// off. Blocks for as long as the replica runs; called on the control
/// socket's connection thread.
std::string serveFollow(Batch& batch, std::string_view args, const ControlSocket::Answer& answer);

} // namespace swarm::submitter

#pragma once

#include "sandbox/unit_spec.hpp"

#include <expected>
#include <string>

namespace swarm::wire {
struct Assign;
}

namespace swarm::worker {

struct WorkerConfig;

/// What the volunteer grants one unit: its limits in the sandbox.
struct Admission {
    sandbox::Limits limits;
    bool shippedImage = false; ///< the image comes as an archive blob
};

/// Judges an assign (already judged on the wire) against the volunteer's
/// own rules: shipped archives allowed, the image policy, memory per slot,
/// the longest timeout, a command. Returns the unit's limits — what it
/// asked for, capped by the slot's share, or the slot's own where it asked
/// for nothing — or the refusal, one line for the submitter. Pure: no I/O,
/// no clock; callable from any thread.
std::expected<Admission, std::string> admit(const wire::Assign& assign, const WorkerConfig& cfg);

/// The limits a unit gets when it asks for nothing: the slot's share of
/// the volunteer's machine (worker.toml). The dispatch bench uses these too.
sandbox::Limits slotLimits(const WorkerConfig& cfg);

} // namespace swarm::worker

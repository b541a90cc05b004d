#pragma once

#include "cli/program.hpp"

namespace swarm::submitter {

/// `swarm-submit run JOB.toml | --image IMG ... -- CMD ::: FILES`.
cli::Command runCommand();
/// `swarm-submit resume DIR`: continue a killed run from its journal.
cli::Command resumeCommand();
/// `swarm-submit status DIR`: what the journal says.
cli::Command statusCommand();

} // namespace swarm::submitter

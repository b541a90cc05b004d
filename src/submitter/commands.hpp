#pragma once

#include "cli/program.hpp"

namespace swarm::submitter {

/// `swarm-submit run JOB.toml | --image IMG ... -- CMD ::: FILES`; takes
/// the words after "--".
cli::Command runCommand();
/// `swarm-submit resume DIR`: continue a killed run from its journal.
cli::Command resumeCommand();
/// `swarm-submit status DIR`: what the journal says.
cli::Command statusCommand();

/// swarm-submit: its name, summary and every command, as main() runs them.
cli::Program program();

} // namespace swarm::submitter

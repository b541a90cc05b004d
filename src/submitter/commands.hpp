#pragma once

#include "cli/program.hpp"

namespace swarm::submitter {

/// `swarm-submit run JOB.toml | --image IMG ... -- CMD ::: FILES`; takes
/// the words after "--".
cli::Command runCommand();
/// `swarm-submit resume DIR`: continue a killed run from its journal.
cli::Command resumeCommand();
/// `swarm-submit status DIR [UNIT]`: what the journal says of the job, or
/// of one unit (its replicas, results and logs).
cli::Command statusCommand();
/// `swarm-submit why DIR [UNIT]`: why a job waits, from the diagnosis its
/// run writes (why.json) and its journal, read-only.
cli::Command whyCommand();
/// `swarm-submit jobs`: the jobs this swarm home ran, from the job index,
/// each with its state now.
cli::Command jobsCommand();

/// `swarm-submit logs DIR UNIT [--replica N] [--follow]`: the stdout and
/// stderr of a unit's finished replicas, from the job's blobs; with
/// --follow, of a running one as it prints, through the live run.
cli::Command logsCommand();
/// `swarm-submit cancel DIR`: cancels the job through the run that holds
/// it (DIR/control.sock), or records the cancel in the journal when none
/// does.
cli::Command cancelCommand();

/// swarm-submit: its name, summary and every command, as main() runs them.
cli::Program program();

} // namespace swarm::submitter

#pragma once

#include "cli/program.hpp"

namespace swarm::bench {

/// swarm-bench: its name, summary and every harness, as main() runs them.
cli::Program program();

} // namespace swarm::bench

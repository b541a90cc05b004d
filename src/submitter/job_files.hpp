#pragma once

#include "submitter/journal.hpp"

#include <filesystem>
#include <string>

namespace swarm::submitter {

/// The journal of job directory `dir`, opened with `access`. Throws
/// std::runtime_error with the one line to print when `dir` is missing, is
/// not a directory, holds no journal, or its journal cannot be read (or,
/// read-write, is held by a run).
Journal openJob(const std::filesystem::path& dir,
                Journal::Access access = Journal::Access::kReadOnly);

/// The job's name from the journal's spec ("job" if it cannot be read);
/// unlike Journal::job() it does not need the input files.
std::string jobName(const Journal& journal);

} // namespace swarm::submitter

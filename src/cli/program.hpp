#pragma once

#include "cli/args.hpp"

#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace swarm::cli {

/// What every subcommand gets: the options common to all programs.
struct Globals {
    std::string_view program;   ///< "swarm-worker" or "swarm-submit"
    std::filesystem::path home; ///< resolved swarm home (--home, env)
    bool json = false;          ///< --json was given
};

struct Command {
    std::string_view name;
    std::string_view usage; ///< one line shown by --help
    std::function<int(Args&, const Globals&)> run;
};

/// The body of main() for every program: initialises libsodium, parses the
/// global options (--home DIR, --log-level L, --json, --help), dispatches to
/// the subcommand, and turns any escaping exception into one clear line on
/// stderr and a non-zero exit (2 for usage errors, 1 otherwise).
int runProgram(std::string_view program, std::string_view summary, int argc, char** argv,
               const std::vector<Command>& commands);

/// The identity and trust commands both programs share: init, id, trust.
std::vector<Command> identityCommands();

} // namespace swarm::cli

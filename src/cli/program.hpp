#pragma once

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace swarm::cli {

/// A command-line mistake; runProgram() prints it with a hint to --help and
/// exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// What every subcommand gets: the options common to all programs.
struct Globals {
    std::string_view program;      ///< "swarm-worker" or "swarm-submit"
    std::filesystem::path home;    ///< resolved swarm home (--home, env)
    bool json = false;             ///< --json was given
    std::vector<std::string> rest; ///< the words after a lone "--"
};

/// What a command does once its command line is parsed. Throws UsageError
/// for a mistake only seen then (a value out of range, say).
using Action = std::function<int(const Globals&)>;

struct Command {
    std::string_view name;
    std::string_view summary; ///< one line in PROGRAM --help
    /// Declares the command's options and positionals on `app` (its own
    /// CLI11 subcommand), each with a one-line description, bound to state
    /// the returned Action owns. Called once per CommandLine.
    std::function<Action(CLI::App& app)> declare;
    /// Whether the words after a lone "--" are the command's
    /// (Globals::rest); if not, any such word is a usage error.
    bool takesRest = false;
};

/// A program's name, one-line summary and subcommands.
struct Program {
    std::string_view name;
    std::string_view summary;
    std::vector<Command> commands;
};

/// The body of main() for every program: initialises libsodium, parses the
/// command line (see CommandLine), runs the chosen command, and turns any
/// escaping exception into one clear line on stderr and a non-zero exit (2
/// for usage errors, 1 otherwise).
int runProgram(const Program& program, int argc, char** argv);

/// The identity and trust commands both programs share: init, id, trust.
std::vector<Command> identityCommands();

} // namespace swarm::cli

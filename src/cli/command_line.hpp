#pragma once

#include "cli/program.hpp"
#include "wire/log.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::cli {

/// A program's command line as CLI11 sees it: the global options (--home
/// DIR, --log-level LEVEL, --json, --help), declared on the program and on
/// every subcommand so that they may come before or after the command word,
/// and one subcommand per Command, declared by the command itself. Not
/// thread-safe; parse() once.
class CommandLine {
public:
    /// What parse() found: either a command to run or a text to print.
    struct Invocation {
        Action action;                          ///< empty when only `text` is to be printed
        Globals globals;                        ///< for `action`
        std::optional<wire::LogLevel> logLevel; ///< --log-level, else $SWARM_LOG
        std::string text;                       ///< help text (--help, or no command given)
        int status = 0; ///< exit status after printing `text`: 0 for --help, 2 without command
    };

    /// Declares every command of `program` (which must outlive this).
    explicit CommandLine(const Program& program);
    ~CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    /// The CLI11 app (help texts, tests).
    CLI::App& app() noexcept { return *app_; }

    /// Parses `words` (argv without the program name). Throws UsageError
    /// naming what was wrong, with a hint to --help.
    Invocation parse(std::vector<std::string> words);

    /// "PROGRAM COMMAND ..." of the deepest command the last parse() chose
    /// (just "PROGRAM" if none): what a usage error's hint names.
    std::string chosenPath() const;

private:
    struct Chosen;
    const Program& program_;
    std::unique_ptr<CLI::App> app_;
    std::vector<Chosen> commands_;
    std::optional<std::string> home_;
    std::optional<std::string> logLevel_;
    bool json_ = false;
};

} // namespace swarm::cli

#include "cli/command_line.hpp"

#include "wire/home.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace swarm::cli {

struct CommandLine::Chosen {
    CLI::App* app;
    const Command* command;
    Action action;
};

namespace {

constexpr const char* kGlobalGroup = "Global options (before or after the command)";

// On `app` and, for the options to be accepted after the command word too,
// on each of its subcommands at every depth, all bound to the same values.
void addGlobals(CLI::App& app, std::optional<std::string>& home, std::optional<std::string>& level,
                bool& json) {
    app.add_option("--home", home,
                   "the swarm home (default: $SWARM_HOME, else $XDG_CONFIG_HOME/swarm, else "
                   "~/.config/swarm)")
        ->type_name("DIR")
        ->group(kGlobalGroup);
    app.add_option("--log-level", level,
                   "debug, info, warn, error or off (default: $SWARM_LOG, else warn)")
        ->type_name("LEVEL")
        ->group(kGlobalGroup);
    app.add_flag("--json", json, "print JSON where the command has a JSON form")
        ->group(kGlobalGroup);
    for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{}))
        addGlobals(*sub, home, level, json);
}

// The deepest subcommand the parse chose (the app itself if none).
const CLI::App& deepest(const CLI::App& app) {
    auto chosen = app.get_subcommands();
    return chosen.empty() ? app : deepest(*chosen.front());
}

std::string withHint(std::string message, std::string_view path) {
    return fmt::format("{} (see '{} --help')", message, path);
}

// CLI11's text, except for the commonest mistakes: a word nobody declared,
// an option without its value ("--slots: 1 required N missing").
std::string describe(const CLI::ParseError& e, const CLI::App& where) {
    auto extra = where.remaining();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) && !extra.empty())
        return extra.front().starts_with("-") ? "unknown option '" + extra.front() + "'"
                                              : "unexpected argument '" + extra.front() + "'";
    std::string_view text = e.what();
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && text.starts_with("--") &&
        text.ends_with(" missing"))
        return std::string(text.substr(0, text.find(':'))) + " needs a value";
    return e.what();
}

} // namespace

CommandLine::CommandLine(const Program& program)
    : program_(program),
      app_(std::make_unique<CLI::App>(fmt::format("{} — {}", program.name, program.summary),
                                      std::string(program.name))) {
    auto& app = *app_;
    // "--slots 2 --slots 3": the last one wins; repeatable options are
    // vectors, which keep every value.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    // One command per line; a command's word after another's is a positional.
    app.require_subcommand(0, 1);
    commands_.reserve(program.commands.size());
    for (const auto& c : program.commands) {
        CLI::App* sub = app.add_subcommand(std::string(c.name), std::string(c.summary));
        commands_.push_back(Chosen{sub, &c, c.declare(*sub)});
    }
    addGlobals(app, home_, logLevel_, json_);
    app.set_version_flag("--version", fmt::format("{} {}", program.name, SWARM_VERSION),
                         "print the version and exit");
    // Stray words before the command are reported by parse(), which can
    // tell an unknown command from an unknown option.
    app.allow_extras();
}

CommandLine::~CommandLine() = default;

std::string CommandLine::chosenPath() const {
    std::string path(program_.name);
    for (auto chosen = app_->get_subcommands(); !chosen.empty();
         chosen = chosen.front()->get_subcommands())
        path += " " + chosen.front()->get_name();
    return path;
}

CommandLine::Invocation CommandLine::parse(std::vector<std::string> words) {
    Invocation inv;
    // Everything after a lone "--" is the command's, never an option.
    auto dashes = std::find(words.begin(), words.end(), "--");
    std::vector<std::string> rest(dashes == words.end() ? dashes : dashes + 1, words.end());
    words.erase(dashes, words.end());
    std::reverse(words.begin(), words.end()); // CLI11 takes them last first
    try {
        app_->parse(words);
    } catch (const CLI::CallForHelp&) {
        inv.text = app_->help();
        return inv;
    } catch (const CLI::CallForVersion&) {
        inv.text = app_->version() + "\n";
        return inv;
    } catch (const CLI::ParseError& e) {
        throw UsageError(withHint(describe(e, deepest(*app_)), chosenPath()));
    }
    auto chosen = std::find_if(commands_.begin(), commands_.end(),
                               [](const Chosen& c) { return c.app->parsed(); });
    auto stray = app_->remaining();
    if (!stray.empty()) {
        const auto& word = stray.front();
        if (chosen == commands_.end() && !word.starts_with("-"))
            throw UsageError(withHint("unknown command '" + word + "'", program_.name));
        throw UsageError(withHint("unknown option '" + word + "'", chosenPath()));
    }
    if (chosen == commands_.end()) {
        inv.text = app_->help();
        inv.status = 2;
        return inv;
    }
    if (!rest.empty() && !chosen->command->takesRest)
        throw UsageError(
            withHint("unexpected argument '" + rest.front() + "' after '--'", chosenPath()));
    auto level = logLevel_ ? logLevel_ : wire::processEnv("SWARM_LOG");
    if (level) {
        inv.logLevel = wire::parseLogLevel(*level);
        if (!inv.logLevel)
            throw UsageError(
                withHint("unknown log level '" + *level + "' (debug, info, warn, error, off)",
                         chosenPath()));
    }
    inv.action = chosen->action;
    inv.globals =
        Globals{program_.name, wire::resolveHome(home_, wire::processEnv), json_, std::move(rest)};
    return inv;
}

} // namespace swarm::cli

#include "cli/program.hpp"

#include "wire/home.hpp"
#include "wire/log.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cstdio>
#include <exception>

namespace swarm::cli {

namespace {
void printHelp(std::string_view program, std::string_view summary,
               const std::vector<Command>& commands) {
    fmt::print("{} — {}\n\nusage: {} [--home DIR] [--log-level LEVEL] COMMAND ...\n\n", program,
               summary, program);
    for (const auto& c : commands)
        fmt::print("  {}\n", c.usage);
    fmt::print("\nThe swarm home is --home, else $SWARM_HOME, else $XDG_CONFIG_HOME/swarm, else "
               "~/.config/swarm.\n");
}
} // namespace

int runProgram(std::string_view program, std::string_view summary, int argc, char** argv,
               const std::vector<Command>& commands) {
    try {
        if (sodium_init() < 0) {
            fmt::print(stderr, "{}: libsodium failed to initialise\n", program);
            return 1;
        }
        std::vector<std::string> words(argv + 1, argv + argc);
        // Global options may come before the command; take them from there
        // only, so that a command's own words are never misread.
        std::optional<std::string> home;
        std::optional<std::string> level = wire::processEnv("SWARM_LOG");
        bool json = false;
        std::size_t i = 0;
        for (; i < words.size() && words[i].starts_with("--"); ++i) {
            const auto& w = words[i];
            if (w == "--help" || w == "-h") {
                printHelp(program, summary, commands);
                return 0;
            } else if (w == "--json") {
                json = true;
            } else if ((w == "--home" || w == "--log-level") && i + 1 < words.size()) {
                (w == "--home" ? home : level) = words[++i];
            } else if (w.starts_with("--home=")) {
                home = w.substr(7);
            } else if (w.starts_with("--log-level=")) {
                level = w.substr(12);
            } else {
                throw UsageError("unknown option '" + w + "' (see --help)");
            }
        }
        if (i == words.size()) {
            printHelp(program, summary, commands);
            return 2;
        }
        std::string name = words[i];
        std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
        Args args(std::move(rest));
        // --home and --json are accepted after the command too.
        if (auto h = args.take("home"))
            home = h;
        if (auto l = args.take("log-level"))
            level = l;
        if (args.flag("json"))
            json = true;
        if (level) {
            auto parsed = wire::parseLogLevel(*level);
            if (!parsed)
                throw UsageError("unknown log level '" + *level +
                                 "' (debug, info, warn, error, off)");
            wire::setLogLevel(*parsed);
        }
        for (const auto& c : commands) {
            if (c.name != name)
                continue;
            if (args.flag("help")) {
                fmt::print("usage: {} {}\n", program, c.usage);
                return 0;
            }
            Globals g{program, wire::resolveHome(home, wire::processEnv), json};
            return c.run(args, g);
        }
        throw UsageError("unknown command '" + name + "' (see --help)");
    } catch (const UsageError& e) {
        fmt::print(stderr, "{}: {}\n", program, e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: error: {}\n", program, e.what());
        return 1;
    }
}

} // namespace swarm::cli

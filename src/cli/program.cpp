#include "cli/program.hpp"

#include "cli/command_line.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cstdio>
#include <exception>

namespace swarm::cli {

int runProgram(const Program& program, int argc, char** argv) {
    std::optional<CommandLine> line;
    try {
        if (sodium_init() < 0) {
            fmt::print(stderr, "{}: libsodium failed to initialise\n", program.name);
            return 1;
        }
        line.emplace(program);
        auto inv = line->parse(std::vector<std::string>(argv + 1, argv + argc));
        if (!inv.action) {
            fmt::print("{}", inv.text);
            return inv.status;
        }
        if (inv.logLevel)
            wire::setLogLevel(*inv.logLevel);
        return inv.action(inv.globals);
    } catch (const UsageError& e) {
        std::string message = e.what();
        // The command's own checks name the option; the hint is added here.
        if (line && message.find("--help") == std::string::npos)
            message = fmt::format("{} (see '{} --help')", message, line->chosenPath());
        fmt::print(stderr, "{}: {}\n", program.name, message);
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: error: {}\n", program.name, e.what());
        return 1;
    }
}

} // namespace swarm::cli

#include "cli/options.hpp"

#include <CLI/CLI.hpp>

#include <charconv>

namespace swarm::cli {

// CLI11's own conversion would take "-1" (as 2^64-1) and "0x10".
CLI::Validator wholeNumber(std::uint64_t max) {
    return CLI::Validator(
        [max](std::string& text) -> std::string {
            std::uint64_t value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size())
                return "wants a whole number, not '" + text + "'";
            if (value > max)
                return "must be at most " + std::to_string(max);
            return {};
        },
        "", "whole number");
}

CLI::Option* addNumber(CLI::App& app, const std::string& name, std::optional<std::uint64_t>& target,
                       const std::string& description) {
    return app.add_option(name, target, description)->check(wholeNumber())->type_name("N");
}

CLI::Option* addNumber(CLI::App& app, const std::string& name, std::uint64_t& target,
                       const std::string& description) {
    return app.add_option(name, target, description)
        ->check(wholeNumber())
        ->type_name("N")
        ->capture_default_str();
}

} // namespace swarm::cli

#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace CLI {
class App;
class Option;
class Validator;
} // namespace CLI

namespace swarm::cli {

/// A CLI11 check: decimal digits only (no sign, no base prefix), at most
/// `max`. Its message, after the option's name, says what was wrong.
CLI::Validator wholeNumber(std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

/// Declares "--NAME N" on `app`: a whole number in decimal digits (no sign,
/// no base prefix; anything else is a usage error naming the option), kept
/// in `target`, which stays empty when the option is not given. `target`
/// must outlive the parse. Returns the option for further settings.
CLI::Option* addNumber(CLI::App& app, const std::string& name, std::optional<std::uint64_t>& target,
                       const std::string& description);

/// The same with a default: `target` keeps its value unless the option is
/// given, and --help shows that value.
CLI::Option* addNumber(CLI::App& app, const std::string& name, std::uint64_t& target,
                       const std::string& description);

} // namespace swarm::cli

#pragma once

#include <string>
#include <string_view>

namespace swarm::cli {

/// `s` as a JSON string literal, quotes included: `"`, `\` and control
/// characters escaped. For the programs' --json output.
std::string jsonString(std::string_view s);

} // namespace swarm::cli

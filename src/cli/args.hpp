#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::cli {

/// A command-line mistake; main() prints it with the usage hint, exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The words after a subcommand. Options are taken by name; whatever is
/// left must be positional, or finish() complains. Everything after a lone
/// "--" is positional. Not thread-safe.
class Args {
public:
    explicit Args(std::vector<std::string> words);

    /// "--name VALUE" or "--name=VALUE"; the last one wins. UsageError if
    /// the option is present without a value.
    std::optional<std::string> take(std::string_view name);
    /// Every occurrence, in order ("--bootstrap a --bootstrap b").
    std::vector<std::string> takeAll(std::string_view name);
    /// A value-less switch ("--json").
    bool flag(std::string_view name);
    /// take() parsed as a non-negative integer; UsageError if not one.
    std::optional<std::uint64_t> takeNumber(std::string_view name);

    /// Positional words (before "--"), in order, removed from the list. Take
    /// the options first: a word after an unknown option reads as positional.
    std::vector<std::string> positionals();
    /// Words after "--" (empty if there was none).
    const std::vector<std::string>& rest() const noexcept { return rest_; }
    /// UsageError naming the first word nobody took.
    void finish() const;

private:
    std::vector<std::string> words_;
    std::vector<std::string> rest_;
};

} // namespace swarm::cli

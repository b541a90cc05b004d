#include "cli/args.hpp"

#include <charconv>

namespace swarm::cli {

Args::Args(std::vector<std::string> words) {
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "--") {
            rest_.assign(words.begin() + static_cast<long>(i) + 1, words.end());
            break;
        }
        words_.push_back(std::move(words[i]));
    }
}

std::optional<std::string> Args::take(std::string_view name) {
    auto all = takeAll(name);
    if (all.empty())
        return std::nullopt;
    return all.back();
}

std::vector<std::string> Args::takeAll(std::string_view name) {
    const std::string opt = "--" + std::string(name);
    std::vector<std::string> values;
    for (std::size_t i = 0; i < words_.size();) {
        if (words_[i] == opt) {
            if (i + 1 >= words_.size())
                throw UsageError(opt + " needs a value");
            values.push_back(words_[i + 1]);
            words_.erase(words_.begin() + static_cast<long>(i),
                         words_.begin() + static_cast<long>(i) + 2);
        } else if (words_[i].starts_with(opt + "=")) {
            values.push_back(words_[i].substr(opt.size() + 1));
            words_.erase(words_.begin() + static_cast<long>(i));
        } else {
            ++i;
        }
    }
    return values;
}

bool Args::flag(std::string_view name) {
    const std::string opt = "--" + std::string(name);
    bool found = false;
    for (std::size_t i = 0; i < words_.size();) {
        if (words_[i] == opt) {
            found = true;
            words_.erase(words_.begin() + static_cast<long>(i));
        } else {
            ++i;
        }
    }
    return found;
}

std::optional<std::uint64_t> Args::takeNumber(std::string_view name) {
    auto text = take(name);
    if (!text)
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size())
        throw UsageError("--" + std::string(name) + " wants a whole number, not '" + *text + "'");
    return value;
}

std::vector<std::string> Args::positionals() {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < words_.size();) {
        if (!words_[i].starts_with("--")) {
            out.push_back(words_[i]);
            words_.erase(words_.begin() + static_cast<long>(i));
        } else {
            ++i;
        }
    }
    return out;
}

void Args::finish() const {
    if (!words_.empty())
        throw UsageError("unexpected argument '" + words_.front() + "'");
}

} // namespace swarm::cli

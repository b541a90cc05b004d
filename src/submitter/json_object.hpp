#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::submitter {

/// `text` as a JSON string literal (with quotes). Control characters are
/// escaped; bytes that are not valid UTF-8 become U+FFFD, so text from peers
/// can never break the document.
std::string jsonQuote(std::string_view text);

/// Builds one JSON object, keys in insertion order. Keys are written as
/// given (callers pass fixed ASCII names).
class JsonObject {
public:
    JsonObject& add(std::string_view key, std::string_view value);
    JsonObject& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    JsonObject& add(std::string_view key, std::int64_t value);
    JsonObject& add(std::string_view key, std::uint64_t value);
    JsonObject& add(std::string_view key, int value) {
        return add(key, static_cast<std::int64_t>(value));
    }
    JsonObject& add(std::string_view key, unsigned value) {
        return add(key, static_cast<std::uint64_t>(value));
    }
    JsonObject& add(std::string_view key, double value);
    JsonObject& add(std::string_view key, bool value);
    JsonObject& addNull(std::string_view key);
    /// `json` must already be valid JSON (an array or object built elsewhere).
    JsonObject& addRaw(std::string_view key, std::string_view json);
    /// A JSON array of strings.
    JsonObject& add(std::string_view key, const std::vector<std::string>& values);

    std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

/// `[a,b,...]` from already-serialized JSON values.
std::string jsonArray(const std::vector<std::string>& items);

} // namespace swarm::submitter

#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::base {

/// Appends `text` to `out` as a JSON string literal, quotes included. Safe
/// for any bytes: valid UTF-8 is copied as it is; `"` and `\` are escaped;
/// newline, tab and carriage return become `\n`, `\t`, `\r`, the other
/// control characters (below 0x20, and 0x7F) `\u00xx`; every byte
/// that does not begin a well-formed UTF-8 sequence (a stray continuation
/// byte, an overlong form, a surrogate, a code point above U+10FFFF, a
/// sequence cut short) becomes U+FFFD. The result is always valid JSON in
/// valid UTF-8.
void appendJsonString(std::string& out, std::string_view text);

/// The same, as a new string.
std::string jsonString(std::string_view text);

class JsonObject;
class JsonArray;

/// Appends one JSON value to `out`: a string (appendJsonString), an
/// integer, a double (`null` unless finite), a boolean, an array of
/// strings, or a finished object or array. The one overload set that
/// JsonObject and JsonArray use.
inline void appendJson(std::string& out, std::string_view text) {
    appendJsonString(out, text);
}
inline void appendJson(std::string& out, const char* text) {
    appendJsonString(out, text);
}
void appendJsonInteger(std::string& out, std::int64_t value);
void appendJsonInteger(std::string& out, std::uint64_t value);
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) void appendJson(std::string& out,
                                                                           T value) {
    if constexpr (std::signed_integral<T>)
        appendJsonInteger(out, static_cast<std::int64_t>(value));
    else
        appendJsonInteger(out, static_cast<std::uint64_t>(value));
}
void appendJson(std::string& out, double value);
void appendJson(std::string& out, bool value);
void appendJson(std::string& out, const std::vector<std::string>& strings);
void appendJson(std::string& out, const JsonObject& value);
void appendJson(std::string& out, const JsonArray& value);

/// Builds one JSON object: members in the order added, no whitespace, keys
/// escaped like string values, so text from peers can never break the
/// document. A plain value: copy it, nest it with add(key, object), read it
/// with str(). Nothing checks that keys are unique. The empty object is `{}`.
class JsonObject {
public:
    /// Adds `key` with any value appendJson() takes.
    template <typename T> JsonObject& add(std::string_view key, const T& value) {
        appendJson(member(key), value);
        return *this;
    }
    JsonObject& addNull(std::string_view key) {
        member(key) += "null";
        return *this;
    }

    bool empty() const noexcept { return body_.size() == 1; }
    /// The document.
    std::string str() const { return body_ + '}'; }

private:
    std::string& member(std::string_view key);

    std::string body_ = "{"; // without the closing brace
};

/// Builds one JSON array, with the same rules as JsonObject. The empty
/// array is `[]`.
class JsonArray {
public:
    /// Appends any value appendJson() takes.
    template <typename T> JsonArray& add(const T& value) {
        appendJson(element(), value);
        return *this;
    }
    JsonArray& addNull() {
        element() += "null";
        return *this;
    }

    bool empty() const noexcept { return body_.size() == 1; }
    /// The document.
    std::string str() const { return body_ + ']'; }

private:
    std::string& element();

    std::string body_ = "["; // without the closing bracket
};

} // namespace swarm::base

#include "base/json_writer.hpp"

#include "base/utf8.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace swarm::base {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

} // namespace

void appendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.reserve(out.size() + text.size() + 2);
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (const std::size_t n = utf8Length(text, i); n > 0) {
            out.append(text.substr(i, n));
            i += n;
            continue;
        } else {
            out += kReplacement;
        }
        ++i;
    }
    out += '"';
}

std::string jsonString(std::string_view text) {
    std::string out;
    appendJsonString(out, text);
    return out;
}

void appendJsonInteger(std::string& out, std::int64_t value) {
    fmt::format_to(std::back_inserter(out), "{}", value);
}

void appendJsonInteger(std::string& out, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out), "{}", value);
}

void appendJson(std::string& out, double value) {
    // fmt's shortest form that reads back as the same double; JSON has no
    // NaN or infinity.
    if (std::isfinite(value))
        fmt::format_to(std::back_inserter(out), "{}", value);
    else
        out += "null";
}

void appendJson(std::string& out, bool value) {
    out += value ? "true" : "false";
}

void appendJson(std::string& out, const std::vector<std::string>& strings) {
    out += '[';
    for (std::size_t i = 0; i < strings.size(); ++i) {
        if (i > 0)
            out += ',';
        appendJsonString(out, strings[i]);
    }
    out += ']';
}

void appendJson(std::string& out, const JsonObject& value) {
    out += value.str();
}

void appendJson(std::string& out, const JsonArray& value) {
    out += value.str();
}

std::string& JsonObject::member(std::string_view key) {
    if (body_.size() > 1)
        body_ += ',';
    appendJsonString(body_, key);
    body_ += ':';
    return body_;
}

std::string& JsonArray::element() {
    if (body_.size() > 1)
        body_ += ',';
    return body_;
}

} // namespace swarm::base

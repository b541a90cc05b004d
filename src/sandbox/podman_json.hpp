#pragma once

// Internal to the sandbox room: jsoncpp never appears in a public header.

#include <json/json.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace swarm::sandbox {

/// Parses a JSON reply of the Podman service. Throws std::runtime_error
/// naming the problem if it is not JSON.
inline Json::Value parsePodmanJson(const std::string& text) {
    Json::CharReaderBuilder b;
    Json::Value v;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    if (!r->parse(text.data(), text.data() + text.size(), &v, &errs))
        throw std::runtime_error("podman: unparsable JSON reply: " + errs);
    return v;
}

/// The strings of a JSON array (non-strings as jsoncpp renders them); empty
/// if `v` is not an array.
inline std::vector<std::string> stringList(const Json::Value& v) {
    std::vector<std::string> out;
    if (v.isArray())
        for (const auto& e : v)
            out.push_back(e.asString());
    return out;
}

} // namespace swarm::sandbox

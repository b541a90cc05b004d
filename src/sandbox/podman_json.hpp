#pragma once

// Internal to the sandbox room: jsoncpp never appears in a public header.

#include <json/json.h>

#include <memory>
#include <stdexcept>
#include <string>

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

} // namespace swarm::sandbox

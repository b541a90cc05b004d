#pragma once

// Internal to the sandbox room: what PodmanRuntime and UnitRun share to talk
// to the libpod API.

#include "sandbox/podman_client.hpp"
#include "sandbox/podman_json.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// A libpod request of `method` on `path` (below the API prefix), bounded by
/// `timeout`.
inline PodmanClient::Request request(std::string_view method, std::string path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    PodmanClient::Request r;
    r.method = method;
    r.path = std::move(path);
    r.timeout = timeout;
    return r;
}

/// The message of a Podman error reply, else the start of its body.
inline std::string errorText(const HttpResponse& r) {
    try {
        auto v = parsePodmanJson(r.body);
        if (v.isObject() && v.isMember("message"))
            return v["message"].asString();
    } catch (...) {
    }
    return r.body.substr(0, 300);
}

} // namespace swarm::sandbox

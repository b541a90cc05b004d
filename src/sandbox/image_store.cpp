#include "sandbox/image_store.hpp"

#include "sandbox/podman_client.hpp"
#include "sandbox/podman_json.hpp"
#include "wire/log.hpp"

#include <json/json.h>

#include <fstream>

namespace swarm::sandbox {

namespace {

using namespace std::chrono_literals;
using Code = wire::Error::Code;
const wire::Logger kLog("sandbox");

PodmanClient::Request req(std::string_view method, std::string path,
                          std::chrono::milliseconds timeout = 30s) {
    PodmanClient::Request r;
    r.method = method;
    r.path = std::move(path);
    r.timeout = timeout;
    return r;
}

} // namespace

bool ImagePolicy::allows(std::string_view reference) const {
    if (requireDigestForPull && reference.find("@sha256:") == std::string_view::npos)
        return false;
    for (const auto& a : allowPull) {
        if (a.empty())
            continue;
        if (reference == a)
            return true;
        if ((a.back() == '/' || a.back() == ':') && reference.starts_with(a))
            return true;
        // An allowed "name" also admits "name@sha256:..." and "name:tag".
        if (reference.starts_with(a) && reference.size() > a.size() &&
            (reference[a.size()] == '@' || reference[a.size()] == ':'))
            return true;
    }
    return false;
}

ImageStore::ImageStore(std::filesystem::path socket, ImagePolicy policy)
    : socket_(std::move(socket)), policy_(std::move(policy)) {}

std::optional<std::string> ImageStore::find(std::string_view reference) {
    PodmanClient client(socket_);
    std::string ref(reference);
    std::string wantDigest;
    if (auto at = ref.find("@sha256:"); at != std::string::npos)
        wantDigest = ref.substr(at + 1);
    auto r = client.call(req("GET", "/images/" + PodmanClient::escape(ref) + "/json"));
    if (r.status == 404)
        return std::nullopt;
    if (r.status != 200)
        throw std::runtime_error("podman: image inspect " + ref + ": HTTP " +
                                 std::to_string(r.status));
    auto v = parsePodmanJson(r.body);
    if (!wantDigest.empty()) {
        bool match = v["Digest"].asString() == wantDigest;
        for (const auto& d : v["RepoDigests"])
            match = match || d.asString().ends_with("@" + wantDigest);
        if (!match)
            return std::nullopt;
    }
    return v["Id"].asString();
}

std::expected<std::string, wire::Error> ImageStore::ensure(std::string_view reference) {
    if (auto id = find(reference))
        return *id;
    if (!policy_.allows(reference))
        return std::unexpected(wire::Error(
            policy_.allowPull.empty() ? Code::kNotFound : Code::kUntrusted,
            "image '" + std::string(reference) + "' is not local and policy forbids pulling it"));
    PodmanClient client(socket_);
    kLog.info("pulling {}", reference);
    auto r = client.call(
        req("POST",
            "/images/pull?quiet=true&policy=always&reference=" + PodmanClient::escape(reference),
            600s));
    if (r.status != 200)
        return std::unexpected(wire::Error(Code::kNotFound, "pull " + std::string(reference) +
                                                                " failed: HTTP " +
                                                                std::to_string(r.status)));
    if (auto id = find(reference))
        return *id;
    return std::unexpected(
        wire::Error(Code::kNotFound, "pulled " + std::string(reference) + " but cannot find it"));
}

std::expected<std::string, wire::Error> ImageStore::load(const std::filesystem::path& archive,
                                                         const wire::Digest& digest) {
    std::ifstream in(archive, std::ios::binary);
    if (!in)
        return std::unexpected(wire::Error(Code::kIo, "cannot open " + archive.string()));
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (wire::sha256(wire::asBytes(data)) != digest)
        return std::unexpected(
            wire::Error(Code::kBadSignature, "image archive does not match " + digest.str()));
    PodmanClient client(socket_);
    PodmanClient::Request r = req("POST", "/images/load", 600s);
    r.body = data;
    r.contentType = "application/x-tar";
    auto resp = client.call(r);
    if (resp.status != 200)
        return std::unexpected(
            wire::Error(Code::kMalformed,
                        "podman refused the image archive: HTTP " + std::to_string(resp.status)));
    auto v = parsePodmanJson(resp.body);
    const auto& names = v["Names"];
    if (!names.isArray() || names.empty())
        return std::unexpected(wire::Error(Code::kMalformed, "image archive held no image"));
    auto id = find(names[0].asString());
    if (!id)
        return std::unexpected(wire::Error(Code::kMalformed, "loaded image not found"));
    kLog.info("loaded image {} from {}", *id, digest.str());
    return *id;
}

} // namespace swarm::sandbox

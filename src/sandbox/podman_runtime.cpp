#include "sandbox/podman_runtime.hpp"

#include "base/json_writer.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_request.hpp"
#include "sandbox/unit_run.hpp"
#include "wire/bytes.hpp"
#include "wire/log.hpp"

#include <json/json.h>

#include <array>

namespace swarm::sandbox {

namespace {

const wire::Logger kLog("sandbox");

std::string randomSuffix() {
    std::array<std::uint8_t, 4> b{};
    wire::randomBytes(b);
    return wire::toHex(b);
}

} // namespace

PodmanRuntime::PodmanRuntime(std::filesystem::path socket, HostProfile host)
    : socket_(std::move(socket)), host_(std::move(host)) {}

UnitResult PodmanRuntime::run(const UnitSpec& spec) {
    if (auto ok = validateSpec(spec); !ok) {
        UnitResult r;
        r.error = ok.error().what;
        return r;
    }
    PodmanClient client(socket_);
    UnitRun unit(client, host_, spec, containerNames(spec.unitId, randomSuffix()));
    return unit.run();
}

std::size_t PodmanRuntime::cleanupLeftovers(std::string_view workerId) {
    PodmanClient client(socket_);
    std::string worker(workerId);
    // Podman 4.3 ANDs several label filters for containers but ORs them for
    // volumes ("swarm=1" alone then matches every worker's volumes). Filter
    // on the worker label only, and check both labels here before removing.
    const std::string filter =
        base::JsonObject()
            .add("label", base::JsonArray().add(std::string(kLabelWorker) + "=" + worker))
            .str();
    auto ours = [&](const Json::Value& labels) {
        return labels.isObject() && labels[std::string(kLabelSwarm)].asString() == "1" &&
               labels[std::string(kLabelWorker)].asString() == worker;
    };
    std::size_t removed = 0;
    auto cr = client.call(
        request("GET", "/containers/json?all=true&filters=" + PodmanClient::escape(filter)));
    if (cr.status != 200)
        throw base::Failure(base::podmanErrcForStatus(cr.status),
                            "podman: list containers: HTTP " + std::to_string(cr.status));
    for (const auto& c : parsePodmanJson(cr.body)) {
        if (!ours(c["Labels"]))
            continue;
        auto id = c["Id"].asString();
        auto r = client.call(request("DELETE", "/containers/" + id + "?force=true&v=true&t=0"));
        if (r.status == 200 || r.status == 204)
            ++removed;
    }
    auto vr = client.call(request("GET", "/volumes/json?filters=" + PodmanClient::escape(filter)));
    if (vr.status != 200)
        throw base::Failure(base::podmanErrcForStatus(vr.status),
                            "podman: list volumes: HTTP " + std::to_string(vr.status));
    for (const auto& v : parsePodmanJson(vr.body)) {
        if (!ours(v["Labels"]))
            continue;
        // Never force: a volume still in use belongs to a live container.
        auto r = client.call(request("DELETE", "/volumes/" + v["Name"].asString()));
        if (r.status == 204)
            ++removed;
    }
    if (removed)
        kLog.info("removed {} leftover containers/volumes of worker {}", removed, workerId);
    return removed;
}

PodmanInfo queryInfo(PodmanClient& client) {
    auto r = client.call(request("GET", "/info"));
    if (r.status != 200)
        throw base::Failure(base::podmanErrcForStatus(r.status),
                            "podman: info: HTTP " + std::to_string(r.status));
    auto v = parsePodmanJson(r.body);
    PodmanInfo info;
    info.version = v["version"]["Version"].asString();
    info.rootless = v["host"]["security"]["rootless"].asBool();
    info.cgroupVersion = v["host"]["cgroupVersion"].asString();
    info.runtime = v["host"]["ociRuntime"]["name"].asString();
    info.storageDriver = v["store"]["graphDriverName"].asString();
    info.cgroupManager = v["host"]["cgroupManager"].asString();
    return info;
}

HostProfile profileFromInfo(const PodmanInfo& info,
                            std::optional<std::filesystem::path> seccompProfile) {
    HostProfile p;
    p.rootless = info.rootless;
    p.cgroupLimits = !(info.rootless && info.cgroupVersion == "v1");
    p.usernsAuto = !info.rootless;
    p.memoryEnforced = p.cgroupLimits;
    p.pidsEnforced = p.cgroupLimits;
    p.seccompProfile = std::move(seccompProfile);
    return p;
}

} // namespace swarm::sandbox

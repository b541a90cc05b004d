#include "sandbox/container_spec.hpp"

#include "sandbox/tar_writer.hpp"

#include <json/json.h>

#include <algorithm>
#include <charconv>

namespace swarm::sandbox {

namespace {

Json::Value labels(const UnitSpec& spec) {
    Json::Value l(Json::objectValue);
    l[std::string(kLabelSwarm)] = "1";
    l[std::string(kLabelUnit)] = spec.unitId;
    l[std::string(kLabelWorker)] = spec.workerId;
    return l;
}

std::string compact(const Json::Value& v) {
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return Json::writeString(b, v);
}

Json::Value rlimit(const char* type, std::uint64_t value) {
    Json::Value r;
    r["type"] = type;
    r["soft"] = Json::UInt64(value);
    r["hard"] = Json::UInt64(value);
    return r;
}

std::optional<std::uint32_t> parseId(std::string_view s) {
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

} // namespace

std::uint64_t fallbackDataLimit(std::uint64_t memoryBytes) {
    return std::max(memoryBytes, kMinDataLimit);
}

ContainerNames containerNames(std::string_view unitId, std::string_view suffix) {
    std::string clean;
    for (char c : unitId) {
        if (clean.size() >= 40)
            break;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        clean += ok ? c : '_';
    }
    if (clean.empty())
        clean = "unit";
    std::string base = "swarm-" + clean + "-" + std::string(suffix);
    return {base, base + "-work"};
}

std::pair<std::uint32_t, std::uint32_t> parseUser(std::string_view user) {
    auto colon = user.find(':');
    auto uid = parseId(user.substr(0, colon));
    auto gid = colon == std::string_view::npos ? uid : parseId(user.substr(colon + 1));
    return {uid.value_or(0), gid.value_or(0)};
}

std::expected<void, wire::Error> validateSpec(const UnitSpec& spec) {
    auto bad = [](std::string what) {
        return std::unexpected(wire::Error(wire::Error::Code::kInvalidArgument, std::move(what)));
    };
    if (spec.command.empty())
        return bad("unit has no command");
    if (spec.image.empty())
        return bad("unit has no image");
    auto colon = spec.user.find(':');
    std::string_view user(spec.user);
    auto uid = parseId(user.substr(0, colon));
    auto gid = colon == std::string_view::npos ? uid : parseId(user.substr(colon + 1));
    if (!uid || !gid)
        return bad("user must be numeric \"uid:gid\", got '" + spec.user + "'");
    if (*uid == 0 || *gid == 0)
        return bad("units never run as root inside the container");
    const auto& l = spec.limits;
    if (l.memoryBytes < (4u << 20) || l.cpuMillis == 0 || l.pids < 2 || l.scratchBytes == 0 ||
        l.timeout.count() <= 0 || l.maxLogBytes == 0 || l.maxFileBytes == 0)
        return bad("a limit is zero or too small");
    for (const auto& in : spec.inputs) {
        if (!isSafeRelativePath(in.name) || in.name.size() > 200)
            return bad("unsafe input name '" + in.name + "'");
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(spec.outputDir, ec))
        return bad("output directory '" + spec.outputDir.string() + "' does not exist");
    if (!std::filesystem::is_empty(spec.outputDir, ec))
        return bad("output directory '" + spec.outputDir.string() + "' is not empty");
    return {};
}

std::string buildCreateBody(const UnitSpec& spec, const HostProfile& host,
                            const ContainerNames& names) {
    const Limits& l = spec.limits;
    Json::Value b(Json::objectValue);
    b["name"] = names.container;
    b["image"] = spec.image;
    for (const auto& arg : spec.command)
        b["command"].append(arg);
    b["labels"] = labels(spec);
    b["hostname"] = "unit";
    b["work_dir"] = "/work";
    b["user"] = spec.user;
    Json::Value env(Json::objectValue);
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    env["HOME"] = "/tmp";
    for (const auto& [k, v] : spec.env)
        env[k] = v;
    env["SWARM_IN"] = "/work/in";
    env["SWARM_OUT"] = "/work/out";
    b["env"] = env;

    // Isolation.
    b["netns"]["nsmode"] = "none";
    if (!host.rootless && host.usernsAuto) {
        // The REST API needs the mapping options spelled out, or "auto" is
        // silently ignored; 65536 ids so that 65534 (nobody) is mapped too.
        b["userns"]["nsmode"] = "auto";
        b["idmappings"]["AutoUserNs"] = true;
        b["idmappings"]["AutoUserNsOpts"]["Size"] = 65536;
    }
    b["read_only_filesystem"] = true;
    b["read_write_tmpfs"] = false;
    b["cap_drop"].append("ALL");
    b["no_new_privileges"] = true;
    if (host.seccompProfile)
        b["seccomp_profile_path"] = host.seccompProfile->string();
    b["image_volume_mode"] = "ignore"; // image VOLUMEs would be unlabelled leftovers
    b["use_image_hosts"] = false;
    b["oom_score_adj"] = 1000;

    // Storage: the unit volume at /work, bounded tmpfs at /tmp and /dev/shm.
    Json::Value vol;
    vol["Name"] = names.volume;
    vol["Dest"] = "/work";
    vol["Options"].append("nosuid");
    vol["Options"].append("nodev");
    b["volumes"].append(vol);
    Json::Value tmp;
    tmp["destination"] = "/tmp";
    tmp["type"] = "tmpfs";
    tmp["source"] = "tmpfs";
    for (const char* o : {"nosuid", "nodev", "mode=1777"})
        tmp["options"].append(o);
    tmp["options"].append("size=" + std::to_string(l.scratchBytes));
    b["mounts"].append(tmp);
    // Its own IPC namespace, with /dev/shm a tmpfs of the container's alone.
    // Podman's default ("shareable") mounts a tmpfs on the host for each
    // container and unmounts it at removal, which then often fails once
    // with "shm: device or resource busy"; "none" makes no host mount.
    b["ipcns"]["nsmode"] = "none";
    Json::Value shm;
    shm["destination"] = "/dev/shm";
    shm["type"] = "tmpfs";
    shm["source"] = "shm";
    for (const char* o : {"nosuid", "nodev", "noexec", "mode=1777"})
        shm["options"].append(o);
    shm["options"].append("size=" +
                          std::to_string(std::min<std::uint64_t>(l.scratchBytes, kMaxShmBytes)));
    b["mounts"].append(shm);

    // Limits. Rootless on cgroup v1 Podman drops these with a warning; we
    // leave them out and rely on the rlimits below instead.
    if (host.cgroupLimits) {
        Json::Value& r = b["resource_limits"];
        r["memory"]["limit"] = Json::Int64(l.memoryBytes);
        r["memory"]["swap"] = Json::Int64(l.memoryBytes); // no swap beyond the limit
        r["cpu"]["period"] = Json::UInt64(100000);
        r["cpu"]["quota"] = Json::Int64(std::int64_t(l.cpuMillis) * 100);
        r["pids"]["limit"] = Json::Int64(l.pids);
    }
    // runc refuses rlimits above the host's hard limits, and Podman raises
    // unspecified nofile/nproc to 1M once any rlimit is given: always set both.
    b["r_limits"].append(rlimit("nofile", 1024));
    b["r_limits"].append(rlimit("nproc", host.rlimitFallbacks ? l.pids : 4096));
    b["r_limits"].append(rlimit("fsize", l.maxFileBytes));
    b["r_limits"].append(rlimit("core", 0));
    if (host.rlimitFallbacks && (!host.cgroupLimits || !host.memoryEnforced))
        b["r_limits"].append(rlimit("data", fallbackDataLimit(l.memoryBytes)));
    if (host.rlimitFallbacks && (!host.cgroupLimits || !host.cpuEnforced)) {
        auto cpuSeconds = (l.timeout.count() * l.cpuMillis / 1000 + 999) / 1000 + 1;
        b["r_limits"].append(rlimit("cpu", static_cast<std::uint64_t>(cpuSeconds)));
    }

    // Podman's own backstop in case this process dies mid-run: kill after
    // the unit timeout plus a grace period (whole seconds).
    auto seconds = (l.timeout.count() + 999) / 1000;
    b["timeout"] = Json::UInt64(seconds + 30);
    b["stop_timeout"] = 1;
    Json::Value& log = b["log_configuration"];
    log["driver"] = "k8s-file";
    // conmon truncates the log file at this size: a flood cannot fill the disk.
    log["size"] = Json::Int64(l.maxLogBytes * 4 + (64 << 10));
    return compact(b);
}

std::string buildVolumeBody(const UnitSpec& spec, const ContainerNames& names) {
    Json::Value b;
    b["Name"] = names.volume;
    b["Label"] = labels(spec);
    return compact(b);
}

} // namespace swarm::sandbox

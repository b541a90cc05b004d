#include "sandbox/container_spec.hpp"

#include "base/json_writer.hpp"
#include "sandbox/tar_writer.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <map>

namespace swarm::sandbox {

namespace {

base::JsonObject labels(const UnitSpec& spec) {
    return base::JsonObject()
        .add(kLabelSwarm, "1")
        .add(kLabelUnit, spec.unitId)
        .add(kLabelWorker, spec.workerId);
}

base::JsonObject rlimit(const char* type, std::uint64_t value) {
    return base::JsonObject().add("type", type).add("soft", value).add("hard", value);
}

// A tmpfs mount: nosuid, nodev, then `options`, then its size.
base::JsonObject tmpfs(const char* destination, const char* source,
                       std::initializer_list<const char*> options, std::uint64_t size) {
    base::JsonArray o;
    o.add("nosuid").add("nodev");
    for (const char* option : options)
        o.add(option);
    o.add("size=" + std::to_string(size));
    return base::JsonObject()
        .add("destination", destination)
        .add("type", "tmpfs")
        .add("source", source)
        .add("options", o);
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
    base::JsonObject b;
    b.add("name", names.container).add("image", spec.image).add("command", spec.command);
    b.add("labels", labels(spec)).add("hostname", "unit").add("work_dir", "/work");
    b.add("user", spec.user);
    std::map<std::string, std::string> env{
        {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/tmp"}};
    for (const auto& [k, v] : spec.env)
        env[k] = v;
    env["SWARM_IN"] = "/work/in";
    env["SWARM_OUT"] = "/work/out";
    base::JsonObject envObject;
    for (const auto& [k, v] : env)
        envObject.add(k, v);
    b.add("env", envObject);

    // Isolation.
    b.add("netns", base::JsonObject().add("nsmode", "none"));
    if (!host.rootless && host.usernsAuto) {
        // The REST API needs the mapping options spelled out, or "auto" is
        // silently ignored; 65536 ids so that 65534 (nobody) is mapped too.
        b.add("userns", base::JsonObject().add("nsmode", "auto"));
        b.add("idmappings", base::JsonObject()
                                .add("AutoUserNs", true)
                                .add("AutoUserNsOpts", base::JsonObject().add("Size", 65536)));
    }
    b.add("read_only_filesystem", true).add("read_write_tmpfs", false);
    b.add("cap_drop", base::JsonArray().add("ALL")).add("no_new_privileges", true);
    if (host.seccompProfile)
        b.add("seccomp_profile_path", host.seccompProfile->string());
    b.add("image_volume_mode", "ignore"); // image VOLUMEs would be unlabelled leftovers
    b.add("use_image_hosts", false).add("oom_score_adj", 1000);

    // Storage: the unit volume at /work, bounded tmpfs at /tmp and /dev/shm.
    b.add("volumes",
          base::JsonArray().add(base::JsonObject()
                                    .add("Name", names.volume)
                                    .add("Dest", "/work")
                                    .add("Options", base::JsonArray().add("nosuid").add("nodev"))));
    // Its own IPC namespace, with /dev/shm a tmpfs of the container's alone.
    // Podman's default ("shareable") mounts a tmpfs on the host for each
    // container and unmounts it at removal, which then often fails once
    // with "shm: device or resource busy"; "none" makes no host mount.
    b.add("mounts", base::JsonArray()
                        .add(tmpfs("/tmp", "tmpfs", {"mode=1777"}, l.scratchBytes))
                        .add(tmpfs("/dev/shm", "shm", {"noexec", "mode=1777"},
                                   std::min<std::uint64_t>(l.scratchBytes, kMaxShmBytes))));
    b.add("ipcns", base::JsonObject().add("nsmode", "none"));

    // Limits. Rootless on cgroup v1 Podman drops these with a warning; we
    // leave them out and rely on the rlimits below instead.
    if (host.cgroupLimits) {
        const auto memory = static_cast<std::int64_t>(l.memoryBytes);
        b.add("resource_limits",
              base::JsonObject()
                  .add("memory", base::JsonObject()
                                     .add("limit", memory)
                                     .add("swap", memory)) // no swap beyond the limit
                  .add("cpu", base::JsonObject()
                                  .add("period", 100000)
                                  .add("quota", std::int64_t(l.cpuMillis) * 100))
                  .add("pids", base::JsonObject().add("limit", l.pids)));
        // All units under one parent whose quota caps them together.
        if (!host.cgroupParent.empty())
            b.add("cgroup_parent", host.cgroupParent);
    }
    // runc refuses rlimits above the host's hard limits, and Podman raises
    // unspecified nofile/nproc to 1M once any rlimit is given: always set both.
    base::JsonArray rlimits;
    rlimits.add(rlimit("nofile", 1024));
    rlimits.add(rlimit("nproc", host.rlimitFallbacks ? l.pids : 4096));
    rlimits.add(rlimit("fsize", l.maxFileBytes));
    rlimits.add(rlimit("core", 0));
    if (host.rlimitFallbacks && (!host.cgroupLimits || !host.memoryEnforced))
        rlimits.add(rlimit("data", fallbackDataLimit(l.memoryBytes)));
    if (host.rlimitFallbacks && (!host.cgroupLimits || !host.cpuEnforced)) {
        auto cpuSeconds = (l.timeout.count() * l.cpuMillis / 1000 + 999) / 1000 + 1;
        rlimits.add(rlimit("cpu", static_cast<std::uint64_t>(cpuSeconds)));
    }
    b.add("r_limits", rlimits);

    // Podman's own backstop in case this process dies mid-run: kill after
    // the unit timeout plus a grace period (whole seconds).
    auto seconds = (l.timeout.count() + 999) / 1000;
    b.add("timeout", static_cast<std::uint64_t>(seconds + 30)).add("stop_timeout", 1);
    // conmon truncates the log file at this size: a flood cannot fill the disk.
    b.add("log_configuration",
          base::JsonObject()
              .add("driver", "k8s-file")
              .add("size", static_cast<std::int64_t>(l.maxLogBytes * 4 + (64 << 10))));
    return b.str();
}

std::string buildVolumeBody(const UnitSpec& spec, const ContainerNames& names) {
    return base::JsonObject().add("Name", names.volume).add("Label", labels(spec)).str();
}

} // namespace swarm::sandbox

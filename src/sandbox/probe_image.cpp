#include "sandbox/probe_image.hpp"

#include "sandbox/podman_request.hpp"
#include "sandbox/tar_writer.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

namespace swarm::sandbox {

namespace {

// The applets `busybox --list` names; empty if it cannot run.
std::vector<std::string> appletsOf(const std::filesystem::path& busybox) {
    std::vector<std::string> applets;
    const std::string command = "'" + busybox.string() + "' --list";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return applets;
    char line[256];
    while (std::fgets(line, sizeof line, pipe)) {
        std::string name(line);
        while (!name.empty() && (name.back() == '\n' || name.back() == '\r'))
            name.pop_back();
        // Applet names are plain words; anything else is not linked.
        if (!name.empty() && name != "busybox" &&
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.[") ==
                std::string::npos &&
            name.find("..") == std::string::npos)
            applets.push_back(name);
    }
    ::pclose(pipe);
    return applets;
}

std::expected<wire::Bytes, std::string> rootFileSystem(const std::filesystem::path& busybox) {
    std::ifstream in(busybox, std::ios::binary);
    if (!in)
        return std::unexpected(busybox.string() + " not found (install busybox-static)");
    const std::string binary((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    auto applets = appletsOf(busybox);
    if (applets.empty())
        return std::unexpected(busybox.string() + " --list printed no applet");
    TarWriter tar;
    for (const char* dir : {"bin", "etc", "work", "proc", "sys", "dev"})
        tar.addDirectory(dir, 0755);
    tar.addDirectory("tmp", 01777);
    tar.addFile("bin/busybox", wire::asBytes(binary), 0755);
    for (const auto& applet : applets)
        tar.addSymlink("bin/" + applet, "busybox");
    tar.addFile("etc/passwd",
                wire::asBytes("root:x:0:0:root:/root:/bin/sh\n"
                              "nobody:x:65534:65534:nobody:/work:/bin/sh\n"),
                0644);
    tar.addFile("etc/group", wire::asBytes("root:x:0:\nnogroup:x:65534:\n"), 0644);
    return tar.finish();
}

} // namespace

std::expected<void, std::string> ensureProbeImage(const std::filesystem::path& socket,
                                                  const std::filesystem::path& busybox) {
    using namespace std::chrono_literals;
    PodmanClient client(socket);
    const std::string ref = kProbeImage;
    auto exists = client.call(request("GET", "/images/" + PodmanClient::escape(ref) + "/exists"));
    if (exists.status == 204)
        return {};
    auto rootfs = rootFileSystem(busybox);
    if (!rootfs)
        return std::unexpected(rootfs.error());
    auto r = request("POST",
                     "/images/import?reference=" + PodmanClient::escape(ref) +
                         "&changes=" + PodmanClient::escape("CMD [\"/bin/sh\"]") +
                         "&changes=" + PodmanClient::escape("WORKDIR /work") +
                         "&message=" + PodmanClient::escape("swarm-worker probe image"),
                     120s);
    const std::string body(rootfs->begin(), rootfs->end());
    r.body = body;
    r.contentType = "application/x-tar";
    auto imported = client.call(r);
    if (imported.status != 200)
        return std::unexpected(fmt::format("podman refused to import {}: HTTP {}: {}", ref,
                                           imported.status, errorText(imported)));
    return {};
}

} // namespace swarm::sandbox

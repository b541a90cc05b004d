#include "worker/sandbox_setup.hpp"

#include "sandbox/probe_image.hpp"
#include "wire/home.hpp"
#include "wire/log.hpp"

#include <stdexcept>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");
}

std::optional<std::filesystem::path> findPackagingFile(const std::string& name) {
    std::vector<std::filesystem::path> dirs;
    if (auto env = wire::processEnv("SWARM_PACKAGING_DIR"))
        dirs.emplace_back(*env);
    // PREFIX/bin/swarm-worker finds PREFIX/share/swarm: an installed tree
    // (or one installed with --destdir and moved) uses its own files.
    std::error_code ec;
    if (auto exe = std::filesystem::read_symlink("/proc/self/exe", ec); !ec)
        dirs.push_back(exe.parent_path().parent_path() / "share" / "swarm");
    dirs.emplace_back("/usr/local/share/swarm");
    dirs.emplace_back("/usr/share/swarm");
#ifdef SWARM_SOURCE_DIR
    dirs.emplace_back(std::filesystem::path(SWARM_SOURCE_DIR) / "packaging");
#endif
    for (const auto& d : dirs) {
        if (std::filesystem::is_regular_file(d / name, ec))
            return std::filesystem::absolute(d / name);
    }
    return std::nullopt;
}

SandboxSetup setUpSandbox(const std::string& probeImage) {
    SandboxSetup setup;
    sandbox::ServiceOptions options;
    options.containersConf = findPackagingFile("containers.conf");
    if (auto env = wire::processEnv("CONTAINERS_CONF"); env && !options.containersConf)
        options.containersConf = *env;
    setup.containersConf = options.containersConf;
    setup.service = sandbox::PodmanService::connect(options, wire::processEnv);
    // The worker's own probe image, built once from busybox-static: the
    // measurement holds on any host, not only where the tests set up theirs.
    std::optional<std::string> noProbeImage;
    if (probeImage == sandbox::kProbeImage)
        if (auto built = sandbox::ensureProbeImage(setup.service->socket()); !built)
            noProbeImage = "probe image " + probeImage + " could not be built: " + built.error();
    sandbox::DoctorOptions doctor;
    doctor.probeImage = probeImage;
    doctor.seccompProfile = findPackagingFile("seccomp.json");
    setup.seccompProfile = doctor.seccompProfile;
    if (!doctor.seccompProfile)
        kLog.warn("packaging/seccomp.json not found: units get Podman's default seccomp profile");
    setup.report = sandbox::runDoctor(setup.service->socket(), doctor);
    if (noProbeImage)
        setup.report.problems.insert(setup.report.problems.begin(), *noProbeImage);
    if (!setup.report.reachable)
        throw std::runtime_error("Podman is not reachable at " + setup.service->socket().string());
    setup.runtime =
        std::make_unique<sandbox::PodmanRuntime>(setup.service->socket(), setup.report.profile);
    return setup;
}

} // namespace swarm::worker

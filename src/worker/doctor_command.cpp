// `swarm-worker doctor`: prints what isolation this machine really enforces,
// measured with probe containers (see src/sandbox/doctor.hpp).

#include "base/json_writer.hpp"
#include "sandbox/podman_client.hpp"
#include "wire/isolation_json.hpp"
#include "worker/commands.hpp"
#include "worker/sandbox_setup.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace swarm::worker {

namespace {

std::string pathOrNone(const std::optional<std::filesystem::path>& p) {
    return p ? p->string() : "";
}

std::string toJson(const SandboxSetup& setup) {
    const auto& r = setup.report;
    return base::JsonObject()
        .add("reachable", r.reachable)
        .add("socket", r.socket)
        .add("version", r.info.version)
        .add("rootless", r.info.rootless)
        .add("cgroupVersion", r.info.cgroupVersion)
        .add("runtime", r.info.runtime)
        .add("storage", r.info.storageDriver)
        .add("probed", r.probed)
        .add("isolation", wire::isolationJson(r.isolation))
        .add("fallbacks", r.fallbacks)
        .add("problems", r.problems)
        .add("seccompProfile", pathOrNone(setup.seccompProfile))
        .add("containersConf", pathOrNone(setup.containersConf))
        .str();
}

int runDoctor(const std::string& image, const cli::Globals& globals) {
    sandbox::CurlGlobal curl;
    SandboxSetup setup;
    try {
        setup = setUpSandbox(image);
    } catch (const std::exception& e) {
        if (globals.json)
            std::printf("%s\n", base::JsonObject()
                                    .add("reachable", false)
                                    .add("problems", std::vector<std::string>{e.what()})
                                    .str()
                                    .c_str());
        else
            std::printf("podman:       NOT reachable: %s\n", e.what());
        return 1;
    }
    const auto& report = setup.report;
    if (globals.json) {
        std::printf("%s\n", toJson(setup).c_str());
    } else {
        std::fputs(report.text().c_str(), stdout);
        std::printf("files:        seccomp profile %s\n              containers.conf %s\n",
                    setup.seccompProfile ? setup.seccompProfile->c_str() : "(none)",
                    setup.containersConf ? setup.containersConf->c_str() : "(none)");
    }
    return report.probed ? 0 : 1;
}

} // namespace

cli::Command doctorCommand() {
    return {"doctor", "measure the isolation Podman enforces here, with probe containers",
            [](CLI::App& app) -> cli::Action {
                auto image = std::make_shared<std::string>(sandbox::kProbeImage);
                app.add_option("--image", *image,
                               "the image the probe containers run (the default one is built from "
                               "busybox-static when missing)")
                    ->type_name("IMAGE")
                    ->capture_default_str();
                return [image](const cli::Globals& g) { return runDoctor(*image, g); };
            }};
}

} // namespace swarm::worker

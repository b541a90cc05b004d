// `swarm-worker doctor`: prints what isolation this machine really enforces,
// measured with probe containers (see src/sandbox/doctor.hpp).

#include "base/json_writer.hpp"
#include "sandbox/podman_client.hpp"
#include "worker/commands.hpp"
#include "worker/sandbox_setup.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace swarm::worker {

namespace {

std::string toJson(const sandbox::DoctorReport& r) {
    const auto& i = r.isolation;
    base::JsonObject isolation;
    isolation.add("memory", i.memory)
        .add("cpu", i.cpu)
        .add("pids", i.pids)
        .add("userns", i.userns)
        .add("seccomp", i.seccomp)
        .add("network", i.network)
        .add("readOnly", i.readOnly);
    return base::JsonObject()
        .add("reachable", r.reachable)
        .add("socket", r.socket)
        .add("version", r.info.version)
        .add("rootless", r.info.rootless)
        .add("cgroupVersion", r.info.cgroupVersion)
        .add("runtime", r.info.runtime)
        .add("storage", r.info.storageDriver)
        .add("probed", r.probed)
        .add("isolation", isolation)
        .add("fallbacks", r.fallbacks)
        .add("problems", r.problems)
        .str();
}

} // namespace

cli::Command doctorCommand() {
    return {"doctor", "doctor [--image IMAGE]  measure the isolation Podman enforces here",
            [](cli::Args& args, const cli::Globals& globals) -> int {
                auto image = args.take("image").value_or("localhost/swarm-test:latest");
                args.finish();
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
                if (globals.json)
                    std::printf("%s\n", toJson(report).c_str());
                else
                    std::fputs(report.text().c_str(), stdout);
                return report.probed ? 0 : 1;
            }};
}

} // namespace swarm::worker

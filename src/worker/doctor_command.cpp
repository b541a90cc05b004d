// `swarm-worker doctor`: prints what isolation this machine really enforces,
// measured with probe containers (see src/sandbox/doctor.hpp).

#include "sandbox/podman_client.hpp"
#include "worker/commands.hpp"
#include "worker/sandbox_setup.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <exception>

namespace swarm::worker {

namespace {

std::string jsonString(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20)
                out += fmt::format("\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string jsonList(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? "," : "") + jsonString(items[i]);
    return out + "]";
}

std::string toJson(const sandbox::DoctorReport& r) {
    const auto& i = r.isolation;
    return fmt::format(
        R"({{"reachable":{},"socket":{},"version":{},"rootless":{},"cgroupVersion":{},)"
        R"("runtime":{},"storage":{},"probed":{},"isolation":{{"memory":{},"cpu":{},"pids":{},)"
        R"("userns":{},"seccomp":{},"network":{},"readOnly":{}}},"fallbacks":{},"problems":{}}})",
        r.reachable, jsonString(r.socket), jsonString(r.info.version), r.info.rootless,
        jsonString(r.info.cgroupVersion), jsonString(r.info.runtime),
        jsonString(r.info.storageDriver), r.probed, i.memory, i.cpu, i.pids, i.userns, i.seccomp,
        i.network, i.readOnly, jsonList(r.fallbacks), jsonList(r.problems));
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
                        std::printf("{\"reachable\":false,\"problems\":[%s]}\n",
                                    jsonString(e.what()).c_str());
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

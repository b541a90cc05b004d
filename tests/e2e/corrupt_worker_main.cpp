// swarm-worker-corrupt: the real worker daemon with its sandbox wrapped so
// that every result it returns is wrong. For the end-to-end tests only: the
// product has no such mode.

#include "cli/program.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/unit_spec.hpp"
#include "wire/bytes.hpp"
#include "worker/commands.hpp"

#include <fstream>
#include <iterator>

namespace {
using namespace swarm;

class CorruptingRuntime final : public sandbox::ContainerRuntime {
public:
    explicit CorruptingRuntime(sandbox::ContainerRuntime& inner) : inner_(inner) {}

    sandbox::UnitResult run(const sandbox::UnitSpec& spec) override {
        auto result = inner_.run(spec);
        result.stdoutText += "corrupted\n";
        for (auto& out : result.outputs) {
            if (!out.linkTarget.empty())
                continue;
            auto path = spec.outputDir / out.path;
            std::ofstream(path, std::ios::app) << "corrupted\n";
            std::ifstream in(path, std::ios::binary);
            wire::Bytes data((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
            out.size = data.size();
        }
        return result;
    }
    std::size_t cleanupLeftovers(std::string_view workerId) override {
        return inner_.cleanupLeftovers(workerId);
    }
    sandbox::FreezeMethod freezeMethod() const override { return inner_.freezeMethod(); }

private:
    sandbox::ContainerRuntime& inner_;
};
} // namespace

int main(int argc, char** argv) {
    cli::Program program{"swarm-worker-corrupt", "a worker that corrupts its results (tests)",
                         cli::identityCommands()};
    program.commands.push_back(worker::runCommand(
        [](sandbox::ContainerRuntime& real) { return std::make_unique<CorruptingRuntime>(real); }));
    program.commands.push_back(worker::statusCommand());
    return cli::runProgram(program, argc, argv);
}

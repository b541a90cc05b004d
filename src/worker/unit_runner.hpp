#pragma once

#include "sandbox/unit_spec.hpp"
#include "wire/messages.hpp"

#include <filesystem>
#include <stop_token>
#include <string>

namespace swarm::sandbox {
class ContainerRuntime;
class FreezeControl;
} // namespace swarm::sandbox
namespace swarm::net {
class BlobStore;
}

namespace swarm::worker {

class ImageSource;
class SessionImages;

/// Runs one replica of a unit that was admitted and whose inputs are in
/// the blob cache: resolves its image (once per session, SessionImages),
/// runs it in the sandbox, and puts stdout, stderr and the wanted outputs
/// into the cache. Knows nothing of the protocol but the result it fills.
/// One per session; run() is called from that session's unit threads.
class UnitRunner {
public:
    struct Deps {
        sandbox::ContainerRuntime& runtime;
        ImageSource& images;
        net::BlobStore& blobs;
        SessionImages& pins;     ///< the session's image ids
        std::string workerId;    ///< labels the containers
        std::string submitterId; ///< owner of shipped images
        /// The worker's freeze switch (UnitSpec::freeze); null: never frozen.
        sandbox::FreezeControl* freeze = nullptr;
    };
    explicit UnitRunner(Deps deps) : d_(std::move(deps)) {}

    /// Runs `assign` with `limits` in the scratch directory `outDir` (made
    /// here, removed before it returns; named by the caller, never from
    /// peer text). Every outcome is in the result, `error` set when the unit
    /// did not succeed: could not start, outputs refused, timed out, out of
    /// memory, cancelled (`stop`), or a failure of the sandbox itself.
    /// `giveBack` stops it gracefully instead: the result is a give-back
    /// (wire::Result::givenBack) whose outputs are its checkpoint, "ckpt/..."
    /// (UnitSpec::giveBack). `tap` (borrowed, may be null) sees the unit's
    /// output while it runs. Never throws. Blocks for the unit's run.
    wire::Result run(const wire::Assign& assign, const sandbox::Limits& limits,
                     const std::filesystem::path& outDir, std::stop_token stop,
                     std::stop_token giveBack = {}, sandbox::LogTap* tap = nullptr);

private:
    sandbox::UnitResult runInSandbox(const wire::Assign& assign, sandbox::UnitSpec& spec,
                                     std::stop_token stop);
    void collect(const wire::Assign& assign, const sandbox::UnitResult& ran,
                 const std::filesystem::path& outDir, wire::Result& r);
    void collectCheckpoint(const sandbox::UnitResult& ran, const std::filesystem::path& outDir,
                           wire::Result& r);

    Deps d_;
};

} // namespace swarm::worker

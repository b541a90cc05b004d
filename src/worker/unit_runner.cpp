#include "worker/unit_runner.hpp"

#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "sandbox/container_runtime.hpp"
#include "wire/log.hpp"
#include "worker/image_source.hpp"
#include "worker/session_images.hpp"

#include <fmt/format.h>

namespace swarm::worker {

namespace {

const wire::Logger kLog("worker");

// An output the unit asked to be collected: exact path or under a folder.
bool wanted(std::string_view name, const std::vector<std::string>& outputs) {
    if (outputs.empty())
        return true;
    for (const auto& o : outputs) {
        std::string_view p = o;
        while (p.ends_with('/'))
            p.remove_suffix(1);
        if (name == p || (name.starts_with(p) && name.size() > p.size() && name[p.size()] == '/'))
            return true;
    }
    return false;
}

std::string errorOf(const sandbox::UnitResult& ran, const std::stop_token& stop) {
    if (stop.stop_requested())
        return "cancelled by the submitter";
    if (!ran.started)
        return "could not start: " + ran.error;
    if (ran.outputsRejected)
        return "outputs refused: " + ran.error;
    if (ran.timedOut)
        return "timed out";
    if (ran.oomKilled)
        return "killed: out of memory";
    return "";
}

} // namespace

wire::Result UnitRunner::run(const wire::Assign& assign, const sandbox::Limits& limits,
                             const std::filesystem::path& outDir, std::stop_token stop,
                             std::stop_token giveBack, sandbox::LogTap* tap) {
    wire::Result r;
    r.unitId = assign.unitId;
    r.replica = assign.replica;
    try {
        std::filesystem::create_directories(outDir);
        sandbox::UnitSpec spec;
        spec.unitId = fmt::format("{}-r{}", assign.unitId, assign.replica);
        spec.workerId = d_.workerId;
        spec.command = assign.command;
        spec.env = assign.env;
        for (const auto& in : assign.inputs)
            spec.inputs.push_back({in.name, d_.blobs.pathOf(net::toDigest(in.digest))});
        spec.outputDir = outDir;
        spec.stop = stop;
        spec.giveBack = giveBack;
        spec.tap = tap;
        spec.freeze = d_.freeze;
        spec.limits = limits;
        auto ran = runInSandbox(assign, spec, stop);
        if (ran.givenBack && !stop.stop_requested()) {
            collectCheckpoint(ran, outDir, r);
            std::error_code ec;
            std::filesystem::remove_all(outDir, ec);
            return r;
        }
        r.exitCode = ran.exitCode;
        r.timedOut = ran.timedOut;
        r.oomKilled = ran.oomKilled;
        r.wallMs = ran.wallTime.count();
        r.stdoutTruncated = ran.stdoutTruncated;
        r.stderrTruncated = ran.stderrTruncated;
        r.error = errorOf(ran, stop);
        collect(assign, ran, outDir, r);
    } catch (const std::exception& e) {
        kLog.error("unit {}/{} failed in the sandbox: {}", assign.unitId, assign.replica, e.what());
        r.error = std::string("sandbox failure: ") + e.what();
        r.outputs.clear();
    }
    std::error_code ec;
    std::filesystem::remove_all(outDir, ec);
    return r;
}

// The image: a shipped archive (loaded after its digest is checked), or a
// reference present locally or pulled as the policy allows; resolved once
// per session, then the same image id (SessionImages).
sandbox::UnitResult UnitRunner::runInSandbox(const wire::Assign& assign, sandbox::UnitSpec& spec,
                                             std::stop_token stop) {
    const bool shipped = assign.imageArchive != wire::RawDigest{};
    const auto archive = net::toDigest(assign.imageArchive);
    const std::string imageKey = shipped ? "archive " + archive.str() : assign.image;
    const auto key = fmt::format("{}/{}", assign.unitId, assign.replica);
    return d_.pins.run(
        imageKey,
        [&] {
            return shipped ? d_.images.load(d_.blobs.pathOf(archive), archive, d_.submitterId)
                           : d_.images.ensure(assign.image);
        },
        [&](const std::string& id) { // true: do not run the unit again
            if (stop.stop_requested())
                return true;
            try {
                if (d_.images.present(id))
                    return true;
            } catch (const std::exception& e) {
                // Podman cannot say: keep the run's own error.
                kLog.warn("cannot check image {} of {}: {}", id, key, e.what());
                return true;
            }
            kLog.warn("image {} of {} is gone; resolving {} again", id, key, imageKey);
            return false;
        },
        [&](const std::string& id) {
            spec.image = id;
            // Marked in use around the run: the image is not collected meanwhile.
            d_.images.running(id, true);
            struct Ended {
                ImageSource& images;
                const std::string& id;
                ~Ended() { images.running(id, false); }
            } ended{d_.images, id};
            return d_.runtime.run(spec);
        },
        [&](const std::string& id) {
            kLog.info("session with {}: image {} is {} for the rest of the session",
                      d_.submitterId.substr(0, 12), imageKey, id);
        });
}

// A give-back carries no exit and no logs: only the files the unit left in
// /work/ckpt, as "ckpt/<path>", for the next replica's in/ckpt/. A
// checkpoint over the output cap is not sent; the submitter learns why.
void UnitRunner::collectCheckpoint(const sandbox::UnitResult& ran,
                                   const std::filesystem::path& outDir, wire::Result& r) {
    const auto key = fmt::format("{}/{}", r.unitId, r.replica);
    r.givenBack = true;
    r.exitCode = -1;
    r.wallMs = ran.wallTime.count();
    r.error = ran.error;
    if (!r.error.empty())
        kLog.error("unit {} given back without its checkpoint: {}", key, r.error);
    std::uint64_t bytes = 0;
    for (const auto& f : ran.outputs) {
        std::string name = "ckpt/" + f.path;
        if (!f.linkTarget.empty())
            continue;
        if (name.size() > wire::limits::kInputNameBytes) {
            kLog.warn("unit {}: checkpoint file {} has too long a name; not sent", key, name);
            continue;
        }
        auto d = d_.blobs.putFile(outDir / f.path);
        if (!d)
            throw std::runtime_error("cannot cache checkpoint file " + name + ": " +
                                     net::describe(d.error()));
        r.outputs.push_back({std::move(name), net::toRaw(*d), f.size});
        bytes += f.size;
    }
    kLog.info("unit {} given back with a checkpoint of {} file(s), {} bytes", key, r.outputs.size(),
              bytes);
}

// stdout and stderr always; the files the unit asked for only if it
// succeeded. Symlinks are never sent.
void UnitRunner::collect(const wire::Assign& assign, const sandbox::UnitResult& ran,
                         const std::filesystem::path& outDir, wire::Result& r) {
    auto add = [&](std::string name, std::expected<wire::Digest, net::Error> d,
                   std::uint64_t size) {
        if (!d)
            throw std::runtime_error("cannot cache output " + name + ": " +
                                     net::describe(d.error()));
        r.outputs.push_back({std::move(name), net::toRaw(*d), size});
    };
    add("stdout", d_.blobs.put(wire::asBytes(ran.stdoutText)), ran.stdoutText.size());
    add("stderr", d_.blobs.put(wire::asBytes(ran.stderrText)), ran.stderrText.size());
    if (!r.error.empty())
        return;
    for (const auto& out : ran.outputs) {
        std::string name = "out/" + out.path;
        if (!out.linkTarget.empty() || !wanted(name, assign.outputs))
            continue;
        add(name, d_.blobs.putFile(outDir / out.path), out.size);
    }
}

} // namespace swarm::worker

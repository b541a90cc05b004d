#include "submitter/replica_report.hpp"

#include "base/sha256.hpp"
#include "submitter/result_store.hpp"
#include "wire/messages.hpp"

#include <algorithm>
#include <array>

namespace swarm::submitter {

ReplicaReport ReplicaReport::success(std::int32_t exitCode, std::vector<OutputFile> outputs) {
    ReplicaReport r;
    r.exitCode = exitCode;
    r.digest = combinedDigest(exitCode, outputs);
    r.outputs = std::move(outputs);
    return r;
}

ReplicaReport ReplicaReport::failure(std::string reason, std::vector<OutputFile> logs,
                                     std::int32_t exitCode) {
    ReplicaReport r;
    r.error = reason.empty() ? std::string("error") : std::move(reason);
    r.outputs = std::move(logs);
    r.exitCode = exitCode;
    return r;
}

wire::Digest combinedDigest(std::int32_t exitCode, const std::vector<OutputFile>& outputs) {
    std::vector<const OutputFile*> sorted;
    for (const auto& o : outputs)
        if (o.name != "stderr")
            sorted.push_back(&o);
    std::sort(sorted.begin(), sorted.end(),
              [](const OutputFile* a, const OutputFile* b) { return a->name < b->name; });
    base::Sha256 h;
    static constexpr std::string_view kTag{"swarm/v1/result-digest\0", 23};
    h.update(wire::asBytes(kTag));
    auto putU64 = [&h](std::uint64_t v) {
        std::array<std::uint8_t, 8> be{};
        for (int i = 7; i >= 0; --i, v >>= 8)
            be[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xFF);
        h.update(be);
    };
    putU64(static_cast<std::uint64_t>(static_cast<std::int64_t>(exitCode)));
    putU64(sorted.size());
    for (const auto* o : sorted) {
        putU64(o->name.size());
        h.update(wire::asBytes(o->name));
        h.update(o->digest.bytes);
        putU64(o->size);
    }
    return wire::Digest{h.finish()};
}

namespace {

std::vector<OutputFile> outputsOf(const wire::Result& result) {
    std::vector<OutputFile> outputs;
    outputs.reserve(result.outputs.size());
    for (const auto& ref : result.outputs) {
        OutputFile o{ref.name, wire::Digest{ref.digest}, ref.size};
        o.truncated = (ref.name == "stdout" && result.stdoutTruncated) ||
                      (ref.name == "stderr" && result.stderrTruncated);
        outputs.push_back(std::move(o));
    }
    return outputs;
}

// The first stdout and stderr of a result that is an error: all that is
// kept of it.
std::vector<OutputFile> logsOf(const std::vector<OutputFile>& outputs) {
    std::vector<OutputFile> logs;
    for (const char* name : {"stdout", "stderr"}) {
        auto it = std::find_if(outputs.begin(), outputs.end(),
                               [&](const OutputFile& o) { return o.name == name; });
        if (it != outputs.end())
            logs.push_back(*it);
    }
    return logs;
}

} // namespace

ReplicaReport reportFromResult(const wire::Result& result) {
    auto outputs = outputsOf(result);
    auto fail = [&](std::string why) {
        return ReplicaReport::failure(std::move(why), logsOf(outputs), result.exitCode);
    };
    if (result.refused) {
        auto r = ReplicaReport::failure("refused by the worker: " + result.error.substr(0, 200));
        r.refused = true;
        return r;
    }
    if (!result.error.empty())
        return fail("worker error: " + result.error.substr(0, 200));
    if (result.timedOut)
        return fail("timed out");
    if (result.oomKilled)
        return fail("killed: out of memory");
    if (auto ok = checkOutputNames(outputs); !ok)
        return fail("bad result: " + ok.error().what);
    return ReplicaReport::success(result.exitCode, std::move(outputs));
}

} // namespace swarm::submitter

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

ReplicaReport ReplicaReport::failure(std::string reason) {
    ReplicaReport r;
    r.error = reason.empty() ? std::string("error") : std::move(reason);
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

ReplicaReport reportFromResult(const wire::Result& result) {
    if (result.refused) {
        auto r = ReplicaReport::failure("refused by the worker: " + result.error.substr(0, 200));
        r.refused = true;
        return r;
    }
    if (!result.error.empty())
        return ReplicaReport::failure("worker error: " + result.error.substr(0, 200));
    if (result.timedOut)
        return ReplicaReport::failure("timed out");
    if (result.oomKilled)
        return ReplicaReport::failure("killed: out of memory");
    std::vector<OutputFile> outputs;
    outputs.reserve(result.outputs.size());
    for (const auto& ref : result.outputs)
        outputs.push_back({ref.name, wire::Digest{ref.digest}, ref.size});
    if (auto ok = checkOutputNames(outputs); !ok)
        return ReplicaReport::failure("bad result: " + ok.error().what);
    return ReplicaReport::success(result.exitCode, std::move(outputs));
}

} // namespace swarm::submitter

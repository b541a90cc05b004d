#include "submitter/input_catalog.hpp"

#include "base/sha256.hpp"
#include "submitter/scheduler.hpp"

#include <map>

namespace swarm::submitter {

namespace fs = std::filesystem;

wire::FileRef describeFile(const fs::path& path, std::string name) {
    const auto hashed = base::hashFile(path);
    wire::FileRef ref;
    ref.name = std::move(name);
    ref.digest = hashed.digest;
    ref.size = hashed.size;
    return ref;
}

std::string inputListing(const JobSpec& job, const InputCatalog& catalog) {
    std::string out;
    auto line = [&](const std::string& unit, const wire::FileRef& ref) {
        out += unit + "\t" + ref.name + "\t" + wire::Digest{ref.digest}.str() + "\t" +
               std::to_string(ref.size) + "\n";
    };
    if (auto archive = catalog.imageArchive())
        line("", *archive);
    for (const auto& unit : job.units)
        for (const auto& ref : catalog.inputsOf(unit.id))
            line(unit.id, ref);
    return out;
}

std::optional<std::string> describeInputChange(const std::string& recorded,
                                               const std::string& current) {
    if (recorded == current)
        return std::nullopt;
    auto lines = [](const std::string& text) {
        std::map<std::pair<std::string, std::string>, std::string> m; // (unit, name) -> rest
        std::size_t at = 0;
        while (at < text.size()) {
            auto nl = text.find('\n', at);
            if (nl == std::string::npos)
                nl = text.size();
            std::string l = text.substr(at, nl - at);
            at = nl + 1;
            auto t1 = l.find('\t');
            auto t2 = t1 == std::string::npos ? t1 : l.find('\t', t1 + 1);
            if (t2 == std::string::npos)
                continue;
            m[{l.substr(0, t1), l.substr(t1 + 1, t2 - t1 - 1)}] = l.substr(t2 + 1);
        }
        return m;
    };
    auto was = lines(recorded), now = lines(current);
    auto what = [](const std::pair<std::string, std::string>& key) {
        return key.first.empty() ? "the image archive"
                                 : "input '" + key.second + "' of unit '" + key.first + "'";
    };
    auto pretty = [](std::string rest) {
        auto tab = rest.find('\t');
        return tab == std::string::npos
                   ? rest
                   : rest.substr(0, tab) + ", " + rest.substr(tab + 1) + " bytes";
    };
    for (const auto& [key, rest] : was) {
        auto it = now.find(key);
        if (it == now.end())
            return what(key) + " is no longer part of the job";
        if (it->second != rest)
            return what(key) + " changed since the job started (was " + pretty(rest) + "; now " +
                   pretty(it->second) + ")";
    }
    for (const auto& [key, rest] : now)
        if (!was.contains(key))
            return what(key) + " was not part of the job when it started";
    return "the job's inputs changed since it started";
}

InputCatalog::InputCatalog(const JobSpec& job, const Describe& describe) {
    std::map<fs::path, wire::FileRef> byPath; // a file shared by units is hashed once
    auto add = [&](const fs::path& source, const std::string& name) {
        const fs::path key = fs::absolute(source);
        auto it = byPath.find(key);
        if (it == byPath.end())
            it = byPath.emplace(key, describe ? describe(key) : describeFile(key, "")).first;
        wire::FileRef ref = it->second;
        ref.name = name;
        const wire::Digest d{ref.digest};
        if (paths_.emplace(d, key).second)
            totalBytes_ += ref.size;
        return ref;
    };
    for (const auto& unit : job.units) {
        auto& refs = units_[unit.id];
        for (const auto& in : unit.inputs)
            refs.push_back(add(in.source, in.name));
    }
    if (job.image.archive)
        archive_ = add(*job.image.archive, job.image.archive->filename().string());
}

const std::vector<wire::FileRef>& InputCatalog::inputsOf(const std::string& unitId) const {
    static const std::vector<wire::FileRef> kNone;
    auto it = units_.find(unitId);
    return it == units_.end() ? kNone : it->second;
}

std::optional<fs::path> InputCatalog::pathOf(const wire::Digest& digest) const {
    auto it = paths_.find(digest);
    if (it == paths_.end())
        return std::nullopt;
    return it->second;
}

wire::Assign buildAssign(const JobSpec& job, const UnitSpec& unit, const Assignment& assignment,
                         const InputCatalog& catalog) {
    wire::Assign a;
    a.unitId = assignment.unitId;
    a.replica = assignment.replica;
    if (auto archive = catalog.imageArchive())
        a.imageArchive = archive->digest;
    else
        a.image = job.image.reference;
    a.command = unitCommand(job, unit);
    a.env = job.env;
    a.inputs = catalog.inputsOf(unit.id);
    a.outputs = job.outputs;
    a.timeoutMs = job.timeoutMs;
    a.memoryBytes = job.resources.memoryBytes;
    a.pids = job.resources.pids;
    a.cpus = job.resources.cpus;
    a.leaseExpiresMs = assignment.leaseExpiresMs;
    return a;
}

} // namespace swarm::submitter

#include "submitter/result_store.hpp"

#include "base/json_writer.hpp"
#include "base/sha256.hpp"
#include "base/unique_fd.hpp"
#include "submitter/job_spec.hpp"
#include "wire/home.hpp"
#include "wire/judge.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <map>
#include <set>
#include <system_error>
#include <unordered_map>

namespace swarm::submitter {

namespace fs = std::filesystem;
using wire::Error;

namespace {

std::unexpected<Error> invalid(std::string what) {
    return std::unexpected(Error(Error::Code::kInvalidArgument, std::move(what)));
}

// fsync a file or directory; throws on failure.
void syncPath(const fs::path& path, bool directory) {
    const base::UniqueFd fd(
        ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    if (::fsync(fd.get()) != 0)
        throw std::system_error(errno, std::generic_category(), "fsync " + path.string());
}

} // namespace

std::expected<fs::path, Error> safeRelativePath(std::string_view name) {
    // The rule is the judge's (wire/judge.hpp), which refused unsafe names
    // when the result arrived; checked again here before any file is made.
    if (auto ok = wire::checkRelativePath(name); !ok)
        return invalid(fmt::format("file name '{}' {}", wire::excerpt(name, 80), ok.error()));
    return fs::path(std::string(name));
}

std::expected<void, Error> checkOutputNames(const std::vector<OutputFile>& outputs) {
    std::set<std::string> names;
    for (const auto& o : outputs) {
        if (auto p = safeRelativePath(o.name); !p)
            return std::unexpected(p.error());
        if (!names.insert(o.name).second)
            return invalid("output '" + o.name + "' listed twice");
    }
    for (const auto& name : names) {
        for (auto slash = name.find('/'); slash != std::string::npos;
             slash = name.find('/', slash + 1)) {
            if (names.contains(name.substr(0, slash)))
                return invalid("output '" + name.substr(0, slash) +
                               "' is both a file and a directory");
        }
    }
    return {};
}

ResultStore::ResultStore(fs::path jobDir) : dir_(std::move(jobDir)) {
    fs::create_directories(dir_ / "results");
    fs::create_directories(dir_ / "blobs");
}

fs::path ResultStore::blobPath(const wire::Digest& digest) const {
    return dir_ / "blobs" / wire::toHex(digest.bytes);
}

bool ResultStore::hasBlob(const wire::Digest& digest) const {
    return fs::is_regular_file(blobPath(digest));
}

std::expected<void, Error> ResultStore::putBlob(const wire::Digest& digest, wire::ByteView data) {
    if (wire::sha256(data) != digest)
        return std::unexpected(Error(Error::Code::kMalformed, "blob does not match its digest"));
    wire::writeFileAtomic(blobPath(digest),
                          std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                          0644);
    return {};
}

std::expected<void, Error> ResultStore::importBlobFile(const wire::Digest& digest,
                                                       const fs::path& file) {
    if (wire::Digest{base::hashFile(file).digest} != digest) {
        fs::remove(file);
        return std::unexpected(Error(Error::Code::kMalformed, "blob does not match its digest"));
    }
    syncPath(file, false);
    fs::rename(file, blobPath(digest));
    syncPath(dir_ / "blobs", true);
    return {};
}

fs::path ResultStore::unitDir(std::string_view unitId) const {
    return dir_ / "results" / std::string(unitId);
}

std::expected<void, Error> ResultStore::writeUnit(std::string_view unitId,
                                                  const std::vector<OutputFile>& outputs) {
    if (!isSafeUnitId(unitId))
        return invalid("unsafe unit id '" + std::string(unitId) + "'");
    if (auto ok = checkOutputNames(outputs); !ok)
        return ok;
    for (const auto& o : outputs) {
        if (!hasBlob(o.digest))
            return std::unexpected(
                Error(Error::Code::kNotFound, "missing blob for output '" + o.name + "'"));
    }
    const fs::path results = dir_ / "results";
    const fs::path final = unitDir(unitId);
    const fs::path tmp = results / (".tmp-" + std::string(unitId));
    const fs::path old = results / (".old-" + std::string(unitId));
    fs::remove_all(tmp);
    fs::remove_all(old); // left by a crash between the two renames below
    fs::create_directory(tmp);
    for (const auto& o : outputs) {
        const fs::path target = tmp / *safeRelativePath(o.name);
        fs::create_directories(target.parent_path());
        fs::copy_file(blobPath(o.digest), target, fs::copy_options::overwrite_existing);
        syncPath(target, false);
    }
    syncPath(tmp, true);
    if (fs::exists(final))
        fs::rename(final, old);
    fs::rename(tmp, final);
    syncPath(results, true);
    fs::remove_all(old);
    return {};
}

std::vector<std::pair<std::string, Error>> ResultStore::writeMissingUnits(const Snapshot& state) {
    std::map<std::pair<std::string_view, std::uint32_t>, const ReplicaRecord*> replicas;
    for (const auto& r : state.replicas)
        replicas[{r.unitId, r.replica}] = &r;
    std::vector<std::pair<std::string, Error>> failures;
    for (const auto& u : state.units) {
        if (u.state != UnitState::kValid || !isSafeUnitId(u.id) || fs::exists(unitDir(u.id)))
            continue;
        const ReplicaRecord* accepted = nullptr;
        if (u.acceptedReplica) {
            if (auto it = replicas.find({u.id, *u.acceptedReplica}); it != replicas.end())
                accepted = it->second;
        }
        if (!accepted) {
            failures.emplace_back(u.id, Error(Error::Code::kNotFound, "no accepted replica"));
            continue;
        }
        if (auto ok = writeUnit(u.id, accepted->outputs); !ok)
            failures.emplace_back(u.id, ok.error());
    }
    return failures;
}

void ResultStore::writeSummary(std::string_view jobName, const Snapshot& state,
                               const std::vector<SessionRecord>& sessions) const {
    wire::writeFileAtomic(dir_ / "summary.json", summaryJson(jobName, state, sessions) + "\n",
                          0644);
}

namespace {
base::JsonArray sessionsJson(const std::vector<SessionRecord>& sessions) {
    base::JsonArray out;
    for (const auto& s : sessions) {
        base::JsonObject o;
        o.add("worker", s.worker).add("path", s.path).add("address", s.address);
        o.add("started_ms", s.startedMs).add("ended_ms", s.endedMs);
        if (!s.reason.empty())
            o.add("reason", s.reason);
        out.add(o);
    }
    return out;
}
} // namespace

std::string summaryJson(std::string_view jobName, const Snapshot& state,
                        const std::vector<SessionRecord>& sessions) {
    base::JsonArray units;
    std::uint64_t valid = 0;
    std::uint64_t failed = 0;
    std::uint64_t pending = 0;
    std::unordered_map<std::string_view, std::vector<const ReplicaRecord*>> byUnit;
    for (const auto& r : state.replicas)
        byUnit[r.unitId].push_back(&r);
    for (const auto& u : state.units) {
        valid += u.state == UnitState::kValid;
        failed += u.state == UnitState::kFailed;
        pending += u.state == UnitState::kPending;
        base::JsonArray replicas;
        std::uint64_t attempts = 0;
        for (const ReplicaRecord* rp : byUnit[u.id]) {
            const auto& r = *rp;
            attempts += countsAsIssued(r.state);
            base::JsonObject o;
            o.add("replica", r.replica).add("worker", r.worker).add("state", stateName(r.state));
            if (r.state == ReplicaState::kSucceeded || r.state == ReplicaState::kErrored)
                o.add("exit_code", r.exitCode);
            if (r.digest)
                o.add("digest", r.digest->str());
            if (!r.reason.empty())
                o.add("reason", r.reason);
            replicas.add(o);
        }
        base::JsonObject o;
        o.add("id", u.id).add("state", stateName(u.state));
        if (u.digest)
            o.add("digest", u.digest->str());
        else
            o.addNull("digest");
        o.add("agreed", u.agreed).add("attempts", attempts);
        if (!u.reason.empty())
            o.add("reason", u.reason);
        o.add("replicas", replicas);
        units.add(o);
    }
    base::JsonObject counts;
    counts.add("total", state.units.size())
        .add("valid", valid)
        .add("failed", failed)
        .add("pending", pending);
    return base::JsonObject()
        .add("job", jobName)
        .add("counts", counts)
        .add("units", units)
        .add("sessions", sessionsJson(sessions))
        .str();
}

} // namespace swarm::submitter

#pragma once

#include "submitter/job_spec.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swarm::submitter {

struct Assignment;

/// The job's local files by content: every unit input and the image
/// archive, hashed once when the run starts. It answers the worker's
/// NeedBlobs (pathOf: only files of this job are ever served) and fills the
/// FileRefs of Assign messages. Read-only after construction; safe to share
/// between threads.
class InputCatalog {
public:
    /// A file's digest and size (its FileRef without a name). Throws on I/O
    /// errors.
    using Describe = std::function<wire::FileRef(const std::filesystem::path&)>;

    /// Hashes every input (and the image archive) once, through `describe`
    /// (default: describeFile; a run passes one that copies the file into
    /// its blob store, hashing as it copies). Throws std::system_error or
    /// std::runtime_error if a file cannot be read.
    explicit InputCatalog(const JobSpec& job, const Describe& describe = {});

    /// The unit's inputs as FileRefs (name inside the work dir, digest, size).
    /// Empty for an unknown unit id.
    const std::vector<wire::FileRef>& inputsOf(const std::string& unitId) const;

    /// The local file with this content, if it belongs to the job.
    std::optional<std::filesystem::path> pathOf(const wire::Digest& digest) const;

    /// The image archive's content address, if the job ships one.
    std::optional<wire::FileRef> imageArchive() const { return archive_; }

    /// Number of distinct blobs and their total size (for the job-started line).
    std::size_t blobCount() const noexcept { return paths_.size(); }
    std::uint64_t totalBytes() const noexcept { return totalBytes_; }

private:
    std::map<std::string, std::vector<wire::FileRef>> units_;
    std::map<wire::Digest, std::filesystem::path> paths_;
    std::optional<wire::FileRef> archive_;
    std::uint64_t totalBytes_ = 0;
};

/// The catalog as text, one line per file in job order:
/// "unit<TAB>name<TAB>sha256:...<TAB>size" (the image archive as unit "").
std::string inputListing(const JobSpec& job, const InputCatalog& catalog);

/// Compares a recorded listing with the current one: nullopt when they
/// agree, otherwise what changed, naming the first differing file.
std::optional<std::string> describeInputChange(const std::string& recorded,
                                               const std::string& current);

/// SHA-256 and size of a local file. Throws std::system_error on I/O errors.
wire::FileRef describeFile(const std::filesystem::path& path, std::string name);

/// The Assign message for one replica: the unit's command (with "{}"
/// replaced, see unitCommand), env, inputs, outputs, limits and lease.
/// `unit` must be a unit of `job`.
wire::Assign buildAssign(const JobSpec& job, const UnitSpec& unit, const Assignment& assignment,
                         const InputCatalog& catalog);

} // namespace swarm::submitter

#pragma once

#include "wire/digest.hpp"
#include "wire/error.hpp"

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::sandbox {

/// Which images a worker may fetch from a registry.
struct ImagePolicy {
    /// Allowed references: an exact reference ("docker.io/library/alpine:3.19"),
    /// or a prefix ending in '/' or ':' ("docker.io/library/"). Empty: never pull.
    std::vector<std::string> allowPull;
    /// Require "name@sha256:..." for pulls (a tag can change under us).
    bool requireDigestForPull = true;

    bool allows(std::string_view reference) const;
};

/// True for references in the worker's own namespace for shipped images
/// ("localhost/swarm-shipped/...", also spelt "swarm-shipped/..." or with
/// Podman's "containers-storage:" transport), which only ImageStore::load
/// writes. Case-insensitive.
bool isReservedImageName(std::string_view reference);

/// The name ImageStore::load gives the image of an archive `owner` (a peer
/// id) shipped: "localhost/swarm-shipped/<owner, lower case, characters
/// outside [a-z0-9] as '-'>:<first 16 hex digits of the archive's digest>".
std::string shippedImageName(std::string_view owner, const wire::Digest& archive);

/// Makes images available locally: already present, loaded from an archive
/// a submitter shipped (verified against its SHA-256 first), or pulled when
/// the policy allows. One instance per thread.
class ImageStore {
public:
    ImageStore(std::filesystem::path socket, ImagePolicy policy);

    /// The local image id for `reference` if it is present. A reference
    /// "name@sha256:D" matches only an image whose repo digests include D;
    /// "sha256:<id>" names an image id. nullopt when absent. Throws
    /// std::runtime_error when Podman fails.
    std::optional<std::string> find(std::string_view reference);

    /// find(), else pull if the policy allows it. kNotFound when absent and
    /// not pullable, kUntrusted when the policy refuses the reference or it
    /// is reserved (isReservedImageName: nothing is looked up then).
    std::expected<std::string, wire::Error> ensure(std::string_view reference);

    /// Loads a docker-archive / oci-archive tar whose SHA-256 must equal
    /// `digest`, shipped by `owner` (a peer id). No name the archive carries
    /// is applied or moved: the archive is rewritten in memory without its
    /// RepoTags, `repositories` file and index annotations before Podman
    /// sees it, and the loaded image is then tagged shippedImageName(owner,
    /// digest) only. Returns the image id (64 hex digits, as find() does):
    /// the SHA-256 of the image config (of the first image of a
    /// docker-archive), checked against what Podman reports.
    /// kIo when the file cannot be read, kBadSignature on a digest mismatch,
    /// kMalformed for an archive refused here (unsafe or duplicate paths,
    /// entries below a symlink, more than one OCI image, no image config):
    /// nothing is loaded in these cases; also kMalformed when Podman refuses
    /// it or loads another image than its config names (left untagged).
    /// Throws std::runtime_error when Podman fails. Blocks; holds the
    /// archive in memory.
    std::expected<std::string, wire::Error>
    load(const std::filesystem::path& archive, const wire::Digest& digest, std::string_view owner);

    /// The size Podman reports for an image (its layers, shared or not);
    /// 0 when it is absent. Throws std::runtime_error when Podman fails.
    std::uint64_t sizeOf(std::string_view reference);

    /// Takes the name `name` away: Podman only untags an image that has
    /// other names and deletes it (and its unshared layers) otherwise. True
    /// when the name is gone (or was already), false when a container still
    /// uses the image. Throws std::runtime_error when Podman fails.
    bool remove(std::string_view name);

private:
    std::filesystem::path socket_;
    ImagePolicy policy_;
};

} // namespace swarm::sandbox

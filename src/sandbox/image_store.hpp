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
    /// not pullable, kUntrusted when the policy refuses the reference.
    std::expected<std::string, wire::Error> ensure(std::string_view reference);

    /// Loads a docker-archive / oci-archive tar whose SHA-256 must equal
    /// `digest`; returns the first loaded image's id. kBadSignature on a
    /// digest mismatch (nothing is loaded), kMalformed when Podman rejects
    /// the archive.
    std::expected<std::string, wire::Error> load(const std::filesystem::path& archive,
                                                 const wire::Digest& digest);

private:
    std::filesystem::path socket_;
    ImagePolicy policy_;
};

} // namespace swarm::sandbox

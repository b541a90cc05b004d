#pragma once

#include "sandbox/image_store.hpp"
#include "wire/digest.hpp"
#include "wire/error.hpp"

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

namespace swarm::worker {

/// Where the worker's units get their images: the seam between the unit
/// runner and Podman's image store (tests give a fake). Thread-safe: unit
/// threads call it concurrently.
class ImageSource {
public:
    virtual ~ImageSource() = default;
    /// The local image id for a reference, pulled if the policy allows
    /// (sandbox::ImageStore::ensure).
    virtual std::expected<std::string, wire::Error> ensure(const std::string& reference) = 0;
    /// Loads an archive `owner` shipped, never applying its names
    /// (sandbox::ImageStore::load).
    virtual std::expected<std::string, wire::Error> load(const std::filesystem::path& archive,
                                                         const wire::Digest& digest,
                                                         std::string_view owner) = 0;
    /// Whether the image id is still present. Throws when it cannot say.
    virtual bool present(const std::string& id) = 0;
    /// A unit starts running image `id` (true) or has ended (false); what
    /// the worker keeps on disk is collected around it. Never throws.
    virtual void running(const std::string& id, bool starts) {
        (void)id;
        (void)starts;
    }
};

/// The real one: sandbox::ImageStore on the worker's Podman socket, one
/// store per call (a store is one thread's).
class PodmanImages : public ImageSource {
public:
    PodmanImages(std::filesystem::path socket, sandbox::ImagePolicy policy)
        : socket_(std::move(socket)), policy_(std::move(policy)) {}

    std::expected<std::string, wire::Error> ensure(const std::string& reference) override {
        return sandbox::ImageStore(socket_, policy_).ensure(reference);
    }
    std::expected<std::string, wire::Error> load(const std::filesystem::path& archive,
                                                 const wire::Digest& digest,
                                                 std::string_view owner) override {
        return sandbox::ImageStore(socket_, policy_).load(archive, digest, owner);
    }
    bool present(const std::string& id) override {
        return sandbox::ImageStore(socket_, policy_).find(id).has_value();
    }

private:
    std::filesystem::path socket_;
    sandbox::ImagePolicy policy_;
};

} // namespace swarm::worker

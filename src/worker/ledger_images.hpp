#pragma once

#include "sandbox/image_ledger.hpp"
#include "wire/clock.hpp"
#include "wire/log.hpp"
#include "worker/image_source.hpp"

#include <functional>

namespace swarm::worker {

/// Where a worker records the images it loaded (sandbox::ImageLedger).
inline std::filesystem::path keptImagesPath(const std::filesystem::path& home) {
    return home / "images.tsv";
}

/// An ImageSource that records in an ImageLedger each image it loads from
/// a shipped archive (its size as `sizeOf` says) and each unit running one,
/// so that the worker can later remove only images it loaded itself, least
/// recently used first. Everything else goes to `inner`. Thread-safe as
/// `inner` is.
class LedgerImages : public ImageSource {
public:
    using SizeOf = std::function<std::uint64_t(const std::string& id)>;

    LedgerImages(ImageSource& inner, sandbox::ImageLedger& ledger, const wire::Clock& clock,
                 SizeOf sizeOf)
        : inner_(inner), ledger_(ledger), clock_(clock), sizeOf_(std::move(sizeOf)) {}

    std::expected<std::string, wire::Error> ensure(const std::string& reference) override {
        return inner_.ensure(reference);
    }
    std::expected<std::string, wire::Error> load(const std::filesystem::path& archive,
                                                 const wire::Digest& digest,
                                                 std::string_view owner) override {
        auto id = inner_.load(archive, digest, owner);
        if (id) {
            // Loaded but not recorded would be kept for ever: say so.
            try {
                ledger_.loaded(sandbox::shippedImageName(owner, digest), *id, sizeOf_(*id),
                               clock_.nowMs());
            } catch (const std::exception& e) {
                wire::Logger("worker").error("cannot record image {}: {}", *id, e.what());
            }
        }
        return id;
    }
    bool present(const std::string& id) override { return inner_.present(id); }
    void running(const std::string& id, bool starts) override {
        if (starts)
            ledger_.started(id, clock_.nowMs());
        else
            ledger_.ended(id, clock_.nowMs());
        inner_.running(id, starts);
    }

private:
    ImageSource& inner_;
    sandbox::ImageLedger& ledger_;
    const wire::Clock& clock_;
    SizeOf sizeOf_;
};

} // namespace swarm::worker

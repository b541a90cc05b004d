#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

namespace swarm::base {

/// A raw SHA-256 digest.
using Sha256Digest = std::array<std::uint8_t, 32>;

/// Streaming SHA-256, the project's one engine (GnuTLS's, which uses the
/// CPU's SHA extensions: docs/architecture.md has the measurements).
/// Move-only; one thread at a time. A moved-from hasher must not be used.
class Sha256 {
public:
    /// Throws std::runtime_error if GnuTLS cannot start a hash (no memory).
    Sha256();
    Sha256(Sha256&&) noexcept = default;
    Sha256& operator=(Sha256&&) noexcept = default;
    ~Sha256();

    void update(std::span<const std::uint8_t> data);
    void update(std::string_view data);
    /// The digest of everything given to update(); the hasher must not be
    /// used afterwards.
    Sha256Digest finish();

    /// One-shot form, without the allocation a hasher makes.
    static Sha256Digest of(std::span<const std::uint8_t> data);

private:
    struct Deinit {
        void operator()(void* state) const noexcept;
    };
    std::unique_ptr<void, Deinit> state_; // a gnutls_hash_hd_t
};

/// What hashFile() and hashFd() found.
struct FileHash {
    Sha256Digest digest{};
    std::uint64_t size = 0; ///< bytes read
};

/// Hashes the file at `path` (symlinks followed). Blocks while reading.
/// Throws std::system_error "open PATH" or "read PATH" with the errno.
FileHash hashFile(const std::filesystem::path& path);

/// Hashes what is left of the open file `fd`, from its offset to its end,
/// and leaves the offset there; `fd` stays open and owned by the caller.
/// Throws std::system_error "read NAME" with the errno.
FileHash hashFd(int fd, std::string_view name);

} // namespace swarm::base

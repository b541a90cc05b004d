#include "base/sha256.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace swarm::base {

void Sha256::Deinit::operator()(void* state) const noexcept {
    gnutls_hash_deinit(static_cast<gnutls_hash_hd_t>(state), nullptr);
}

Sha256::Sha256() {
    gnutls_hash_hd_t h = nullptr;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        throw std::runtime_error("cannot start a SHA-256 hash");
    state_.reset(h);
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> data) {
    if (!data.empty())
        gnutls_hash(static_cast<gnutls_hash_hd_t>(state_.get()), data.data(), data.size());
}

void Sha256::update(std::string_view data) {
    update(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Sha256Digest Sha256::finish() {
    Sha256Digest d;
    gnutls_hash_output(static_cast<gnutls_hash_hd_t>(state_.get()), d.data());
    return d;
}

Sha256Digest Sha256::of(std::span<const std::uint8_t> data) {
    static constexpr std::uint8_t kNothing = 0; // GnuTLS wants a pointer even for no bytes
    Sha256Digest d;
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data.empty() ? &kNothing : data.data(), data.size(),
                         d.data()) < 0)
        throw std::runtime_error("cannot compute a SHA-256 hash");
    return d;
}

FileHash hashFd(int fd, std::string_view name) {
    Sha256 hash;
    FileHash out;
    std::vector<std::uint8_t> buf(1 << 20);
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "read " + std::string(name));
        if (n == 0)
            break;
        hash.update(std::span(buf.data(), static_cast<std::size_t>(n)));
        out.size += static_cast<std::uint64_t>(n);
    }
    out.digest = hash.finish();
    return out;
}

FileHash hashFile(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    return hashFd(fd.get(), path.string());
}

} // namespace swarm::base

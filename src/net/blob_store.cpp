#include "net/blob_store.hpp"

#include "wire/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace swarm::net {

namespace fs = std::filesystem;

namespace {

const wire::Logger kLog("net");
constexpr std::string_view kPartialPrefix = ".partial-";

std::string hexName(const wire::Digest& d) {
    return wire::toHex(d.bytes);
}

std::optional<wire::Digest> parseName(const std::string& name) {
    if (name.size() != 64)
        return std::nullopt;
    for (char c : name)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return std::nullopt;
    auto bytes = wire::fromHex(name);
    if (!bytes)
        return std::nullopt;
    return wire::Digest::fromBytes(*bytes);
}

void setMtime(const fs::path& path, std::int64_t ms) noexcept {
    timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(ms / 1000);
    times[1].tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
    ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

Error ioError(const std::string& what) {
    return Error(Error::Code::kIo, what + ": " + std::strerror(errno));
}

} // namespace

// ---- BlobWriter ----------------------------------------------------------

BlobWriter::BlobWriter(BlobStore& store, const wire::Digest& digest, std::uint64_t size,
                       fs::path temp, base::UniqueFd fd)
    : store_(&store), digest_(digest), size_(size), temp_(std::move(temp)), fd_(std::move(fd)) {}

BlobWriter::BlobWriter(BlobWriter&& other) noexcept
    : store_(other.store_), digest_(other.digest_), size_(other.size_), written_(other.written_),
      hash_(std::move(other.hash_)), temp_(std::move(other.temp_)), fd_(std::move(other.fd_)),
      done_(other.done_) {
    other.done_ = true;
}

BlobWriter::~BlobWriter() {
    discard();
}

void BlobWriter::discard() noexcept {
    if (done_)
        return;
    done_ = true;
    fd_.reset();
    std::error_code ec;
    fs::remove(temp_, ec);
}

std::expected<void, Error> BlobWriter::append(wire::ByteView data) {
    if (done_)
        return std::unexpected(Error(Error::Code::kIo, "blob writer already finished"));
    if (data.size() > size_ - written_) {
        discard();
        return std::unexpected(Error(Error::Code::kTooLarge, "more blob data than announced"));
    }
    hash_.update(data);
    const std::uint8_t* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd_.get(), p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            auto e = ioError("write " + temp_.string());
            discard();
            return std::unexpected(e);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    written_ += data.size();
    return {};
}

std::expected<void, Error> BlobWriter::commit() {
    if (done_)
        return std::unexpected(Error(Error::Code::kIo, "blob writer already finished"));
    if (written_ != size_) {
        discard();
        return std::unexpected(
            Error(Error::Code::kTruncated, "blob ended after " + std::to_string(written_) + " of " +
                                               std::to_string(size_) + " bytes"));
    }
    if (wire::Digest{hash_.finish()} != digest_) {
        discard();
        return std::unexpected(
            Error(Error::Code::kCorrupt, "blob content does not match " + digest_.str()));
    }
    if (store_->options_.fsync && ::fsync(fd_.get()) != 0) {
        auto e = ioError("fsync " + temp_.string());
        discard();
        return std::unexpected(e);
    }
    fd_.reset();
    auto published = store_->publish(*this);
    if (!published)
        discard();
    done_ = true;
    return published;
}

// ---- BlobStore -----------------------------------------------------------

BlobStore::BlobStore(fs::path dir, BlobStoreOptions options, const wire::Clock& clock)
    : dir_(std::move(dir)), options_(options), clock_(clock) {
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
    struct Found {
        wire::Digest digest;
        std::uint64_t size;
        std::int64_t mtimeMs;
    };
    std::vector<Found> found;
    for (const auto& item : fs::directory_iterator(dir_)) {
        std::string name = item.path().filename().string();
        if (name.starts_with(kPartialPrefix)) {
            std::error_code ec;
            fs::remove(item.path(), ec);
            continue;
        }
        auto digest = parseName(name);
        struct stat st {};
        if (!digest || ::stat(item.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        found.push_back(
            {*digest, static_cast<std::uint64_t>(st.st_size),
             static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000});
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        return std::tie(a.mtimeMs, a.digest) < std::tie(b.mtimeMs, b.digest);
    });
    std::lock_guard lock(mutex_);
    for (const auto& f : found) {
        entries_[f.digest] = Entry{f.size, f.mtimeMs, ++seq_, 0};
        used_ += f.size;
    }
    evictLocked(nullptr);
}

fs::path BlobStore::pathOf(const wire::Digest& digest) const {
    return dir_ / hexName(digest);
}

bool BlobStore::contains(const wire::Digest& digest) const {
    std::lock_guard lock(mutex_);
    return entries_.contains(digest);
}

std::optional<std::uint64_t> BlobStore::sizeOf(const wire::Digest& digest) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(digest);
    if (it == entries_.end())
        return std::nullopt;
    return it->second.size;
}

void BlobStore::touchLocked(const wire::Digest& digest, Entry& entry) {
    entry.lastUseMs = std::max(entry.lastUseMs, clock_.nowMs());
    entry.seq = ++seq_;
    setMtime(pathOf(digest), entry.lastUseMs);
}

std::vector<wire::Digest> BlobStore::missing(std::span<const wire::Digest> wanted) {
    std::lock_guard lock(mutex_);
    std::vector<wire::Digest> out;
    std::set<wire::Digest> seen;
    for (const auto& d : wanted) {
        if (!seen.insert(d).second)
            continue;
        auto it = entries_.find(d);
        if (it == entries_.end())
            out.push_back(d);
        else
            touchLocked(d, it->second);
    }
    return out;
}

std::expected<BlobFile, Error> BlobStore::open(const wire::Digest& digest) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(digest);
    if (it == entries_.end())
        return std::unexpected(Error(Error::Code::kNotFound, "no blob " + digest.str()));
    base::UniqueFd fd(::open(pathOf(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        // Someone removed it behind our back: forget it.
        used_ -= it->second.size;
        entries_.erase(it);
        return std::unexpected(
            Error(Error::Code::kNotFound, "blob file vanished: " + digest.str()));
    }
    touchLocked(digest, it->second);
    return BlobFile{std::move(fd), it->second.size};
}

std::expected<BlobWriter, Error> BlobStore::begin(const wire::Digest& digest, std::uint64_t size) {
    if (size > options_.maxBytes)
        return std::unexpected(
            Error(Error::Code::kTooLarge, "blob of " + std::to_string(size) +
                                              " bytes is over the cache limit of " +
                                              std::to_string(options_.maxBytes)));
    std::array<std::uint8_t, 8> rnd;
    wire::randomBytes(rnd);
    fs::path temp = dir_ / (std::string(kPartialPrefix) + wire::toHex(rnd));
    base::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "create " + temp.string());
    return BlobWriter(*this, digest, size, std::move(temp), std::move(fd));
}

std::expected<void, Error> BlobStore::publish(BlobWriter& writer) {
    std::lock_guard lock(mutex_);
    fs::path final = pathOf(writer.digest_);
    if (::rename(writer.temp_.c_str(), final.c_str()) != 0)
        return std::unexpected(ioError("rename to " + final.string()));
    auto [it, inserted] = entries_.try_emplace(writer.digest_);
    if (inserted) {
        it->second.size = writer.size_;
        used_ += writer.size_;
    }
    touchLocked(writer.digest_, it->second);
    evictLocked(&writer.digest_);
    return {};
}

std::expected<wire::Digest, Error> BlobStore::put(wire::ByteView data) {
    auto digest = wire::sha256(data);
    if (contains(digest)) {
        (void)missing(std::span(&digest, 1));
        return digest;
    }
    auto writer = begin(digest, data.size());
    if (!writer)
        return std::unexpected(writer.error());
    if (auto ok = writer->append(data); !ok)
        return std::unexpected(ok.error());
    if (auto ok = writer->commit(); !ok)
        return std::unexpected(ok.error());
    return digest;
}

std::expected<wire::Digest, Error> BlobStore::putFile(const fs::path& path) {
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return std::unexpected(ioError("open " + path.string()));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return std::unexpected(ioError("stat " + path.string()));
    const auto size = static_cast<std::uint64_t>(st.st_size);
    auto changed = [&] { return Error(Error::Code::kIo, path.string() + " changed while read"); };
    // Hash first: a file already in the store is not copied again.
    base::FileHash hashed;
    try {
        hashed = base::hashFd(fd.get(), path.string());
    } catch (const std::system_error& e) {
        return std::unexpected(Error(Error::Code::kIo, e.what()));
    }
    if (hashed.size != size)
        return std::unexpected(changed());
    const wire::Digest digest{hashed.digest};
    if (contains(digest)) {
        (void)missing(std::span(&digest, 1));
        return digest;
    }
    auto writer = begin(digest, size);
    if (!writer)
        return std::unexpected(writer.error());
    if (::lseek(fd.get(), 0, SEEK_SET) < 0)
        return std::unexpected(ioError("seek " + path.string()));
    std::vector<std::uint8_t> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return std::unexpected(ioError("read " + path.string()));
        if (n == 0)
            break;
        // append() refuses bytes past `size`; a file that shrank is caught below.
        if (auto ok = writer->append(wire::ByteView(buf.data(), static_cast<std::size_t>(n))); !ok)
            return std::unexpected(ok.error());
    }
    if (writer->written() != size)
        return std::unexpected(changed());
    if (auto ok = writer->commit(); !ok)
        return std::unexpected(ok.error());
    return digest;
}

bool BlobStore::pin(const wire::Digest& digest) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(digest);
    if (it == entries_.end())
        return false;
    ++it->second.pins;
    touchLocked(digest, it->second);
    return true;
}

void BlobStore::unpin(const wire::Digest& digest) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(digest);
    if (it != entries_.end() && it->second.pins > 0)
        --it->second.pins;
    evictLocked(nullptr);
}

bool BlobStore::remove(const wire::Digest& digest) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(digest);
    if (it == entries_.end())
        return false;
    std::error_code ec;
    fs::remove(pathOf(digest), ec);
    used_ -= it->second.size;
    entries_.erase(it);
    return true;
}

void BlobStore::evictLocked(const wire::Digest* keep) {
    while (used_ > options_.maxBytes) {
        auto victim = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->second.pins > 0 || (keep != nullptr && it->first == *keep))
                continue;
            if (victim == entries_.end() ||
                std::tie(it->second.lastUseMs, it->second.seq) <
                    std::tie(victim->second.lastUseMs, victim->second.seq))
                victim = it;
        }
        if (victim == entries_.end()) {
            kLog.warn("blob cache over its limit ({} > {} bytes) but everything is in use", used_,
                      options_.maxBytes);
            return;
        }
        std::error_code ec;
        fs::remove(pathOf(victim->first), ec);
        kLog.debug("evicted {} ({} bytes)", victim->first.str(), victim->second.size);
        used_ -= victim->second.size;
        entries_.erase(victim);
    }
}

std::uint64_t BlobStore::expire() {
    if (options_.maxAgeMs <= 0)
        return 0;
    std::lock_guard lock(mutex_);
    const auto now = clock_.nowMs();
    std::uint64_t freed = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.pins > 0 || now - it->second.lastUseMs <= options_.maxAgeMs) {
            ++it;
            continue;
        }
        std::error_code ec;
        fs::remove(pathOf(it->first), ec);
        kLog.debug("expired {} ({} bytes)", it->first.str(), it->second.size);
        freed += it->second.size;
        used_ -= it->second.size;
        it = entries_.erase(it);
    }
    return freed;
}

std::uint64_t BlobStore::usedBytes() const {
    std::lock_guard lock(mutex_);
    return used_;
}

std::size_t BlobStore::count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::vector<wire::Digest> BlobStore::lruOrder() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::pair<std::int64_t, std::uint64_t>, wire::Digest>> v;
    for (const auto& [d, e] : entries_)
        v.push_back({{e.lastUseMs, e.seq}, d});
    std::sort(v.begin(), v.end());
    std::vector<wire::Digest> out;
    for (auto& [k, d] : v)
        out.push_back(d);
    return out;
}

} // namespace swarm::net

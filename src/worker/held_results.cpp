#include "worker/held_results.hpp"

#include "base/unique_fd.hpp"
#include "net/blob_transfer.hpp"
#include "wire/bytes.hpp"
#include "wire/clock.hpp"
#include "wire/codec.hpp"
#include "wire/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace swarm::worker {

namespace fs = std::filesystem;

namespace {

const wire::Logger kLog("worker");
constexpr std::string_view kRecordSuffix = ".held";
constexpr std::string_view kPartialPrefix = ".partial-";

// What a record file holds.
struct Record {
    std::uint32_t version = 1;
    wire::Result result;
    std::string submitter;
    std::string batch;
    std::int64_t keptMs = 0;
    MSGPACK_DEFINE_MAP(version, result, submitter, batch, keptMs)
};

[[noreturn]] void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void fsyncPath(const fs::path& path, int flags) {
    base::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0)
        throwErrno("fsync " + path.string());
}

void writeAll(int fd, const std::uint8_t* data, std::size_t size, const fs::path& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throwErrno("write " + path.string());
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// A file under a temporary name, fsynced, then renamed to `to`: `to` is
// either absent or whole.
void writeSynced(const fs::path& to, const std::function<void(int, const fs::path&)>& fill) {
    std::array<std::uint8_t, 8> rnd{};
    wire::randomBytes(rnd);
    const auto temp = to.parent_path() / (std::string(kPartialPrefix) + wire::toHex(rnd));
    base::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd)
        throwErrno("create " + temp.string());
    try {
        fill(fd.get(), temp);
        if (::fsync(fd.get()) != 0)
            throwErrno("fsync " + temp.string());
        fd.reset();
        fs::rename(temp, to);
    } catch (...) {
        std::error_code ec;
        fs::remove(temp, ec);
        throw;
    }
}

void copyInto(int out, const fs::path& from, const fs::path& temp) {
    base::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        throwErrno("open " + from.string());
    std::array<std::uint8_t, 64 * 1024> buf{};
    for (;;) {
        const ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwErrno("read " + from.string());
        if (n == 0)
            return;
        writeAll(out, buf.data(), static_cast<std::size_t>(n), temp);
    }
}

// The cache evicts by its own rule: the held copy is a second name for the
// same file (a hard link: no bytes copied), or a copy where links fail
// (another file system). The cache fsynced the blob before naming it.
void storeBlob(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (fs::exists(to, ec))
        return;
    fs::create_hard_link(from, to, ec);
    if (!ec)
        return;
    writeSynced(to, [&](int fd, const fs::path& temp) { copyInto(fd, from, temp); });
}

std::optional<Record> readRecord(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec || size == 0 || size > 16 * 1024 * 1024)
        return std::nullopt;
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return std::nullopt;
    wire::Bytes data(size);
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd.get(), data.data() + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return std::nullopt;
        got += static_cast<std::size_t>(n);
    }
    wire::UnpackLimits limits;
    limits.str = 1024 * 1024;
    auto handle = wire::unpackBounded(data, limits);
    if (!handle)
        return std::nullopt;
    auto rec = wire::convertAs<Record>(handle->get(), "held record");
    if (!rec || rec->version == 0 || rec->submitter.empty())
        return std::nullopt;
    return std::move(*rec);
}

// What a held result costs on disk: its output blobs and its record (about
// what the record's msgpack takes), so that even results without outputs
// count against max_bytes.
std::uint64_t outputBytes(const wire::Result& r) {
    std::uint64_t n = 256 + r.unitId.size() + r.error.size();
    for (const auto& o : r.outputs)
        n += o.size + o.name.size() + 64;
    return n;
}

} // namespace

HeldResults::HeldResults(fs::path dir, HeldLimits limits, const wire::Clock& clock)
    : dir_(std::move(dir)), limits_(limits), clock_(clock) {
    fs::create_directories(dir_ / "blobs");
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
    std::lock_guard lock(mutex_);
    load();
    enforceLocked();
}

fs::path HeldResults::blobPath(const wire::Digest& digest) const {
    return dir_ / "blobs" / wire::toHex(digest.bytes);
}

// What a crash may have left: partial files (removed), records that do not
// read back or whose blobs are gone (removed), blobs no record names
// (removed).
void HeldResults::load() {
    std::set<std::string> named;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        const auto name = entry.path().filename().string();
        std::error_code ec;
        if (name.starts_with(kPartialPrefix)) {
            fs::remove(entry.path(), ec);
            continue;
        }
        if (!name.ends_with(kRecordSuffix) || !entry.is_regular_file())
            continue;
        auto rec = readRecord(entry.path());
        bool whole = rec.has_value();
        for (std::size_t i = 0; whole && i < rec->result.outputs.size(); ++i)
            whole = fs::exists(blobPath(net::toDigest(rec->result.outputs[i].digest)), ec);
        if (!whole) {
            kLog.warn("removing a held result that was not written whole: {}",
                      entry.path().string());
            fs::remove(entry.path(), ec);
            continue;
        }
        HeldResult h;
        h.id = name.substr(0, name.size() - kRecordSuffix.size());
        h.result = std::move(rec->result);
        h.submitter = std::move(rec->submitter);
        h.batch = std::move(rec->batch);
        h.keptMs = rec->keptMs;
        h.bytes = outputBytes(h.result);
        for (const auto& o : h.result.outputs)
            named.insert(wire::toHex(net::toDigest(o.digest).bytes));
        bytes_ += h.bytes;
        held_.emplace(h.id, std::move(h));
    }
    for (const auto& entry : fs::directory_iterator(dir_ / "blobs")) {
        const auto name = entry.path().filename().string();
        if (!named.contains(name)) {
            std::error_code ec;
            fs::remove(entry.path(), ec);
        }
    }
    if (!held_.empty())
        kLog.info("holding {} result(s) ({} bytes) for submitters that were away", held_.size(),
                  bytes_);
}

bool HeldResults::keep(const wire::Result& result, const std::string& submitter,
                       const std::string& batch, const BlobSource& source) {
    std::array<std::uint8_t, 12> rnd{};
    wire::randomBytes(rnd);
    HeldResult h;
    h.id = wire::toHex(rnd);
    h.result = result;
    h.submitter = submitter;
    h.batch = batch;
    h.keptMs = clock_.nowMs();
    h.bytes = outputBytes(result);
    std::lock_guard lock(mutex_);
    try {
        // Blobs first, the record last: a record on disk names only blobs
        // that are there.
        for (const auto& o : result.outputs) {
            const auto d = net::toDigest(o.digest);
            storeBlob(source(d), blobPath(d));
        }
        fsyncPath(dir_ / "blobs", O_RDONLY | O_DIRECTORY);
        const Record rec{1, result, submitter, batch, h.keptMs};
        const auto bytes = wire::pack(rec);
        writeSynced(dir_ / (h.id + std::string(kRecordSuffix)), [&](int fd, const fs::path& temp) {
            writeAll(fd, bytes.data(), bytes.size(), temp);
        });
        fsyncPath(dir_, O_RDONLY | O_DIRECTORY);
    } catch (const std::exception& e) {
        kLog.error("cannot keep the result of {}/{} for {}: {}", result.unitId, result.replica,
                   submitter.substr(0, 12), e.what());
        return false;
    }
    kLog.info("holding the result of {}/{} for submitter {} (away)", result.unitId, result.replica,
              submitter.substr(0, 12));
    bytes_ += h.bytes;
    held_.emplace(h.id, std::move(h));
    enforceLocked();
    return true;
}

std::vector<HeldResult> HeldResults::claim(const std::string& submitter, const std::string& batch) {
    std::lock_guard lock(mutex_);
    std::vector<HeldResult> out;
    for (const auto& [id, h] : held_)
        if (h.submitter == submitter && h.batch == batch && !claimed_.contains(id))
            out.push_back(h);
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.keptMs < b.keptMs; });
    for (const auto& h : out)
        claimed_.insert(h.id);
    return out;
}

void HeldResults::delivered(const std::string& id) {
    std::lock_guard lock(mutex_);
    claimed_.erase(id);
    removeRecordLocked(id);
}

void HeldResults::release(const std::string& id) {
    std::lock_guard lock(mutex_);
    claimed_.erase(id);
}

std::expected<net::BlobFile, net::Error> HeldResults::openBlob(const wire::Digest& digest) const {
    const auto path = blobPath(digest);
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0)
        return std::unexpected(
            net::Error(net::Error::Code::kNotFound, "held blob " + digest.str() + " is missing"));
    return net::BlobFile{std::move(fd), static_cast<std::uint64_t>(st.st_size)};
}

void HeldResults::expire() {
    std::lock_guard lock(mutex_);
    enforceLocked();
}

// Oldest first, until every result is young enough and all fit. A result
// being delivered is left alone.
void HeldResults::enforceLocked() {
    const auto now = clock_.nowMs();
    std::vector<std::pair<std::int64_t, std::string>> byAge;
    for (const auto& [id, h] : held_)
        if (!claimed_.contains(id))
            byAge.emplace_back(h.keptMs, id);
    std::sort(byAge.begin(), byAge.end());
    for (const auto& [kept, id] : byAge) {
        if (now - kept > limits_.maxAgeMs)
            dropLocked(id, "older than [held] max_age");
        else if (bytes_ > limits_.maxBytes)
            dropLocked(id, "over [held] max_bytes");
    }
}

void HeldResults::dropLocked(const std::string& id, const char* why) {
    const auto& h = held_.at(id);
    kLog.warn("dropping the held result of {}/{} for submitter {}: {}", h.result.unitId,
              h.result.replica, h.submitter, why);
    removeRecordLocked(id);
}

// The record goes first: a crash after it leaves only blobs, which the
// next start removes.
void HeldResults::removeRecordLocked(const std::string& id) {
    auto it = held_.find(id);
    if (it == held_.end())
        return;
    std::error_code ec;
    fs::remove(dir_ / (id + std::string(kRecordSuffix)), ec);
    if (ec)
        kLog.error("cannot remove held result {}: {}", id, ec.message());
    const auto outputs = std::move(it->second.result.outputs);
    bytes_ -= it->second.bytes;
    held_.erase(it);
    for (const auto& o : outputs) {
        const auto d = net::toDigest(o.digest);
        const bool shared = std::any_of(held_.begin(), held_.end(), [&](const auto& kv) {
            const auto& outs = kv.second.result.outputs;
            return std::any_of(outs.begin(), outs.end(),
                               [&](const wire::FileRef& f) { return f.digest == o.digest; });
        });
        if (!shared)
            fs::remove(blobPath(d), ec);
    }
}

std::size_t HeldResults::count() const {
    std::lock_guard lock(mutex_);
    return held_.size();
}

std::uint64_t HeldResults::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

} // namespace swarm::worker

#include "sandbox/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <exception>
#include <new>
#include <stdexcept>
#include <utility>

namespace swarm::sandbox {

namespace {

struct WriteDeleter {
    void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

// An entry with the fields every member shares: no owner names, mtime 0.
Entry newEntry(std::string_view path, unsigned type, std::uint32_t mode, TarOwner owner) {
    if (!isSafeRelativePath(path))
        throw std::invalid_argument("tar: unsafe path '" + std::string(path) + "'");
    Entry e(archive_entry_new());
    if (!e)
        throw std::bad_alloc();
    archive_entry_copy_pathname(e.get(), std::string(path).c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode & 07777);
    archive_entry_set_uid(e.get(), owner.uid);
    archive_entry_set_gid(e.get(), owner.gid);
    archive_entry_set_mtime(e.get(), 0, 0);
    return e;
}

} // namespace

// Heap-held so that libarchive's client pointer stays valid when the
// writer moves.
struct TarWriter::State {
    std::unique_ptr<archive, WriteDeleter> handle;
    Sink sink; // empty: collect in `out`
    wire::Bytes out;
    std::exception_ptr failure; // what the sink threw, carried past libarchive
    bool discard = false;       // abandoning: libarchive's closing writes go nowhere

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    // archive_write_free() closes an open archive, writing its end marker:
    // not into a sink whose archive was abandoned, nor into freed members.
    ~State() {
        discard = true;
        handle.reset();
    }

    static la_ssize_t write(archive* a, void* client, const void* buffer, std::size_t length) {
        auto& s = *static_cast<State*>(client);
        const auto* p = static_cast<const std::uint8_t*>(buffer);
        try {
            if (s.discard)
                return static_cast<la_ssize_t>(length);
            if (s.sink)
                s.sink(wire::ByteView(p, length));
            else
                s.out.insert(s.out.end(), p, p + length);
        } catch (...) {
            s.failure = std::current_exception();
            archive_set_error(a, EIO, "tar: the archive's sink failed");
            return -1;
        }
        return static_cast<la_ssize_t>(length);
    }

    archive* open() {
        if (handle)
            return handle.get();
        handle.reset(archive_write_new());
        if (!handle)
            throw std::bad_alloc();
        archive* a = handle.get();
        // One plain ustar stream, no padding past the end-of-archive marker.
        if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
            archive_write_add_filter_none(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open(a, this, nullptr, &State::write, nullptr) != ARCHIVE_OK)
            fatal();
        return a;
    }

    // After ARCHIVE_FATAL the handle is dead: drop it and throw.
    [[noreturn]] void fatal() {
        std::string why = handle && archive_error_string(handle.get())
                              ? archive_error_string(handle.get())
                              : "tar: cannot write the archive";
        discard = true;
        handle.reset();
        discard = false;
        out.clear();
        if (auto f = std::exchange(failure, nullptr))
            std::rethrow_exception(f);
        throw std::runtime_error(why.starts_with("tar: ") ? why : "tar: " + why);
    }

    // Writes one member; std::invalid_argument (nothing written) when it
    // does not fit ustar.
    void add(archive_entry* entry, wire::ByteView data) {
        archive* a = open();
        const int r = archive_write_header(a, entry);
        if (r == ARCHIVE_FAILED)
            throw std::invalid_argument(std::string("tar: '") + archive_entry_pathname(entry) +
                                        "': " + archive_error_string(a));
        if (r < ARCHIVE_WARN)
            fatal();
        while (!data.empty()) {
            const la_ssize_t n = archive_write_data(a, data.data(), data.size());
            if (n <= 0)
                fatal();
            data = data.subspan(static_cast<std::size_t>(n));
        }
        if (archive_write_finish_entry(a) < ARCHIVE_WARN)
            fatal();
    }
};

TarWriter::TarWriter() : state_(std::make_unique<State>()) {}
TarWriter::TarWriter(Sink sink) : state_(std::make_unique<State>()) {
    state_->sink = std::move(sink);
}
TarWriter::TarWriter(TarWriter&&) noexcept = default;
TarWriter& TarWriter::operator=(TarWriter&&) noexcept = default;
TarWriter::~TarWriter() = default;

bool isSafeRelativePath(std::string_view path) noexcept {
    if (path.empty() || path.front() == '/')
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        auto part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        if (part.find('\0') != std::string_view::npos)
            return false;
        start = end + 1;
    }
    return true;
}

void TarWriter::addDirectory(std::string_view path, std::uint32_t mode, TarOwner owner) {
    state_->add(newEntry(path, AE_IFDIR, mode, owner).get(), {});
}

void TarWriter::addFile(std::string_view path, wire::ByteView data, std::uint32_t mode,
                        TarOwner owner) {
    Entry e = newEntry(path, AE_IFREG, mode, owner);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    state_->add(e.get(), data);
}

void TarWriter::addSymlink(std::string_view path, std::string_view target, std::uint32_t mode) {
    if (target.empty() || target.find('\0') != std::string_view::npos)
        throw std::invalid_argument("tar: symlink '" + std::string(path) + "' has no target");
    Entry e = newEntry(path, AE_IFLNK, mode, {});
    archive_entry_copy_symlink(e.get(), std::string(target).c_str());
    state_->add(e.get(), {});
}

void TarWriter::addHardLink(std::string_view path, std::string_view target, std::uint32_t mode) {
    if (!isSafeRelativePath(target))
        throw std::invalid_argument("tar: hard link '" + std::string(path) + "' -> '" +
                                    std::string(target) + "' is not a safe path");
    Entry e = newEntry(path, AE_IFREG, mode, {});
    archive_entry_copy_hardlink(e.get(), std::string(target).c_str());
    state_->add(e.get(), {});
}

wire::Bytes TarWriter::finish() {
    state_->open(); // an archive with no members still gets its end marker
    if (archive_write_close(state_->handle.get()) != ARCHIVE_OK)
        state_->fatal();
    state_->handle.reset();
    return std::exchange(state_->out, {});
}

} // namespace swarm::sandbox

#include "sandbox/tar_reader.hpp"

#include "sandbox/safe_fs.hpp"
#include "sandbox/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <system_error>

namespace swarm::sandbox {

namespace {

using Err = wire::Error;
using Code = wire::Error::Code;

std::unexpected<Err> fail(Code code, std::string what) {
    return std::unexpected(Err(code, "tar: " + std::move(what)));
}

struct ReadDeleter {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using Reader = std::unique_ptr<archive, ReadDeleter>;

// A reader for tar alone (ustar, pax, GNU, v7) and no compression: what
// Podman's archive endpoint and image archives are, and what the in-place
// rewrite of an image archive needs.
Reader newReader() {
    Reader a(archive_read_new());
    if (!a)
        throw std::bad_alloc();
    archive_read_support_format_tar(a.get());
    archive_read_support_format_empty(a.get());
    return a;
}

// libarchive's last error message.
std::string errorText(archive* a) {
    const char* text = archive_error_string(a);
    return text ? text : "unreadable archive";
}

// The first refusal of libarchive, by what it says: truncation and the
// limits on special headers get their own codes.
std::unexpected<Err> libarchiveFailure(archive* a, std::size_t index, const std::string& path) {
    const std::string why = errorText(a);
    Code code = Code::kMalformed;
    if (why.find("Truncated") != std::string::npos)
        code = Code::kTruncated;
    else if (why.find("too large") != std::string::npos ||
             why.find("Too many") != std::string::npos)
        code = Code::kTooLarge;
    std::string where = path.empty() ? "entry " + std::to_string(index + 1)
                                     : "entry " + std::to_string(index + 1) + " '" + path + "'";
    return fail(code, where + ": " + why);
}

// libarchive returns ARCHIVE_WARN both for a name it could not convert to
// the locale (it then keeps the stored bytes, which is what we judge) and
// for what we refuse: malformed pax records, too many special headers.
bool harmlessWarning(archive* a) {
    const char* text = archive_error_string(a);
    return text != nullptr &&
           std::string_view(text).find("can't be converted") != std::string_view::npos;
}

std::string pathOf(archive_entry* e) {
    const char* path = e ? archive_entry_pathname(e) : nullptr;
    return path ? path : "";
}

// The ustar type flag for what libarchive read. Its filetype decides (a
// "regular" entry whose name ends in '/' is a directory to libarchive, and
// so here); the stored flag is checked apart (knownTypeFlag).
char typeOf(archive_entry* e) {
    if (archive_entry_hardlink(e) != nullptr)
        return '1';
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return '0';
    case AE_IFDIR:
        return '5';
    case AE_IFLNK:
        return '2';
    case AE_IFCHR:
        return '3';
    case AE_IFBLK:
        return '4';
    case AE_IFIFO:
        return '6';
    default:
        return '?';
    }
}

// libarchive follows POSIX and reads any flag it does not know (and GNU's
// 'M' multi-volume, 'N' rename script, 'S' sparse, 'D' dump directory) as
// a regular file or directory. We keep refusing them: the flag is byte 156
// of the header block that ends where the entry's data begins.
bool knownTypeFlag(char flag) {
    return flag == 0 || std::string_view("01234567").find(flag) != std::string_view::npos;
}

// Walks the entry's data as libarchive delivers it and checks that it is
// one run of `size` bytes at `offset` in `bytes`, read in place (no sparse
// map, no copy): then `offset` and `size` can be used without libarchive.
std::expected<void, Err> checkData(archive* a, wire::ByteView bytes, std::size_t offset,
                                   std::uint64_t size, std::size_t index, const std::string& path) {
    std::uint64_t seen = 0;
    while (true) {
        const void* block = nullptr;
        std::size_t length = 0;
        la_int64_t at = 0;
        int r = archive_read_data_block(a, &block, &length, &at);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK)
            return libarchiveFailure(a, index, path);
        const auto* p = static_cast<const std::uint8_t*>(block);
        if (at < 0 || static_cast<std::uint64_t>(at) != seen || p != bytes.data() + offset + seen)
            return fail(Code::kMalformed,
                        "entry '" + path + "' is sparse or not stored in one run");
        seen += length;
    }
    if (seen != size)
        return fail(Code::kMalformed, "entry '" + path + "' holds " + std::to_string(seen) +
                                          " bytes, not " + std::to_string(size));
    return {};
}

} // namespace

std::optional<std::string> normaliseArchivePath(std::string path) {
    while (path.starts_with("./"))
        path.erase(0, 2);
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (path.empty() || path == ".")
        return std::string();
    if (!isSafeRelativePath(path))
        return std::nullopt;
    return path;
}

std::expected<std::vector<TarEntry>, wire::Error> listTar(wire::ByteView bytes,
                                                          std::uint32_t maxEntries) {
    Reader reader = newReader();
    archive* a = reader.get();
    static const std::uint8_t kNothing = 0;
    // Opening reads the first header to recognise the format.
    if (archive_read_open_memory(a, bytes.empty() ? &kNothing : bytes.data(), bytes.size()) !=
        ARCHIVE_OK)
        return fail(Code::kMalformed, std::string("not a tar archive: ") + errorText(a));
    std::vector<TarEntry> entries;
    while (true) {
        archive_entry* ae = nullptr;
        const std::size_t index = entries.size();
        int r = archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF)
            break;
        // ARCHIVE_RETRY is a bad checksum: libarchive would scan on for
        // something that looks like a header; we stop.
        if (r != ARCHIVE_OK && !(r == ARCHIVE_WARN && harmlessWarning(a)))
            return libarchiveFailure(a, index, pathOf(ae));
        if (entries.size() >= maxEntries)
            return fail(Code::kTooLarge, "more than " + std::to_string(maxEntries) + " entries");
        TarEntry e;
        e.path = pathOf(ae);
        if (const char* link = archive_entry_hardlink(ae))
            e.linkTarget = link;
        else if (const char* target = archive_entry_symlink(ae))
            e.linkTarget = target;
        if (archive_entry_sparse_count(ae) > 0)
            return fail(Code::kInvalidArgument, "sparse file '" + e.path + "' refused");
        const la_int64_t header = archive_filter_bytes(a, 0);
        if (header < 512 || static_cast<std::uint64_t>(header) > bytes.size())
            return fail(Code::kMalformed, "entry '" + e.path + "' has no header block");
        const char flag = static_cast<char>(bytes[static_cast<std::size_t>(header) - 512 + 156]);
        if (!knownTypeFlag(flag))
            return fail(Code::kInvalidArgument,
                        std::string("entry type '") + flag + "' of '" + e.path + "' refused");
        e.type = typeOf(ae);
        e.mode = static_cast<std::uint32_t>(archive_entry_perm(ae) & 07777);
        const la_int64_t size = archive_entry_size(ae);
        e.size = size > 0 ? static_cast<std::uint64_t>(size) : 0;
        e.dataOffset = static_cast<std::size_t>(header);
        if (e.size > bytes.size() - e.dataOffset)
            return fail(Code::kTruncated, "data of entry '" + e.path + "' runs past the end");
        if (auto ok = checkData(a, bytes, e.dataOffset, e.size, index, e.path); !ok)
            return std::unexpected(ok.error());
        entries.push_back(std::move(e));
    }
    return entries;
}

namespace {

// An entry that passed every check, to be created below dest.
struct Planned {
    std::string path;       // relative to dest
    char type;              // '0' file, '5' dir, '2' symlink, '1' hard link
    std::string linkTarget; // symlink text, or hard-link source (relative to dest)
    const TarEntry* entry;
};

// Phase 1: judges the entries in archive order, remembering what the ones
// accepted so far will create; writes nothing.
class Planner {
public:
    explicit Planner(const ExtractOptions& options) : options_(options) {}

    // Adds `e` to the plan, skips it (a directory already planned, or the
    // root), or refuses it.
    std::expected<void, Err> add(const TarEntry& e);
    std::vector<Planned> take() { return std::move(plan_); }

private:
    std::expected<std::optional<std::string>, Err> destPath(const TarEntry& e) const;
    std::expected<void, Err> place(const TarEntry& e, const std::string& rel);
    std::expected<bool, Err> judgeType(const TarEntry& e, Planned& p);
    std::expected<std::string, Err> hardLinkSource(const TarEntry& e) const;
    bool isDirOrNew(const std::string& p) const {
        return !files_.contains(p) && !links_.contains(p);
    }

    const ExtractOptions& options_;
    std::vector<Planned> plan_;
    std::set<std::string> dirs_{""}, files_, links_, seen_;
    std::uint64_t total_ = 0;
};

std::expected<void, Err> Planner::add(const TarEntry& e) {
    auto rel = destPath(e);
    if (!rel)
        return std::unexpected(rel.error());
    if (!*rel)
        return {};
    if (auto ok = place(e, **rel); !ok)
        return ok;
    Planned p{**rel, e.type, {}, &e};
    auto wanted = judgeType(e, p);
    if (!wanted)
        return std::unexpected(wanted.error());
    if (*wanted)
        plan_.push_back(std::move(p));
    return {};
}

// The entry's path relative to dest, with stripComponent removed; nullopt
// for the root directory itself, which is not extracted.
std::expected<std::optional<std::string>, Err> Planner::destPath(const TarEntry& e) const {
    auto norm = normaliseArchivePath(e.path);
    if (!norm)
        return fail(Code::kInvalidArgument, "unsafe path '" + e.path + "'");
    std::string rel = *norm;
    const std::string& strip = options_.stripComponent;
    if (!strip.empty()) {
        if (rel == strip) {
            if (e.type != '5')
                return fail(Code::kInvalidArgument, "'" + rel + "' is not a directory");
            return std::nullopt;
        }
        if (!rel.starts_with(strip + "/"))
            return fail(Code::kInvalidArgument, "entry '" + e.path + "' outside '" + strip + "'");
        rel = rel.substr(strip.size() + 1);
    }
    if (rel.empty()) {
        if (e.type != '5')
            return fail(Code::kInvalidArgument, "root entry is not a directory");
        return std::nullopt;
    }
    return rel;
}

// Where the entry lands: not too deep, below real directories only, not
// over an earlier entry. Records its ancestors as directories.
std::expected<void, Err> Planner::place(const TarEntry& e, const std::string& rel) {
    if (std::count(rel.begin(), rel.end(), '/') >= kMaxOutputDepth)
        return fail(Code::kInvalidArgument,
                    "entries nested deeper than " + std::to_string(kMaxOutputDepth) + " levels");
    // Every ancestor must be (or become) a real directory, never a link or file.
    for (std::string up = parentOf(rel); !up.empty(); up = parentOf(up)) {
        if (!isDirOrNew(up))
            return fail(Code::kInvalidArgument, "entry '" + e.path + "' below a non-directory");
    }
    for (std::string up = parentOf(rel); !up.empty(); up = parentOf(up))
        dirs_.insert(up);
    if (e.type != '5' && (seen_.contains(rel) || dirs_.contains(rel)))
        return fail(Code::kInvalidArgument, "duplicate entry '" + e.path + "'");
    if (e.type == '5' && (files_.contains(rel) || links_.contains(rel)))
        return fail(Code::kInvalidArgument, "duplicate entry '" + e.path + "'");
    seen_.insert(rel);
    return {};
}

// Judges the entry by its type and completes `p`; false when there is
// nothing to create (a directory already planned).
std::expected<bool, Err> Planner::judgeType(const TarEntry& e, Planned& p) {
    switch (e.type) {
    case '0':
    case '7':
        p.type = '0';
        total_ += e.size;
        if (total_ > options_.maxBytes)
            return fail(Code::kTooLarge,
                        "outputs over " + std::to_string(options_.maxBytes) + " bytes");
        files_.insert(p.path);
        return true;
    case '5':
        if (dirs_.contains(p.path))
            return false;
        for (std::string up = p.path; !up.empty(); up = parentOf(up))
            dirs_.insert(up);
        return true;
    case '2':
        if (e.linkTarget.empty() || e.linkTarget.front() == '/')
            return fail(Code::kInvalidArgument,
                        "symlink '" + e.path + "' -> '" + e.linkTarget + "' is absolute");
        if (!pointsDownward(e.linkTarget))
            return fail(Code::kInvalidArgument,
                        "symlink '" + e.path + "' -> '" + e.linkTarget + "' may leave the output");
        p.linkTarget = e.linkTarget;
        links_.insert(p.path);
        return true;
    case '1': {
        auto src = hardLinkSource(e);
        if (!src)
            return std::unexpected(src.error());
        p.linkTarget = std::move(*src);
        files_.insert(p.path);
        return true;
    }
    case '3':
    case '4':
        return fail(Code::kInvalidArgument, "device node '" + e.path + "' refused");
    case '6':
        return fail(Code::kInvalidArgument, "fifo '" + e.path + "' refused");
    default:
        return fail(Code::kInvalidArgument,
                    std::string("entry type '") + e.type + "' of '" + e.path + "' refused");
    }
}

// A hard link's source relative to dest: it must be an earlier regular file
// (or hard link to one) of this archive.
std::expected<std::string, Err> Planner::hardLinkSource(const TarEntry& e) const {
    auto src = normaliseArchivePath(e.linkTarget);
    std::string srcRel = src ? *src : std::string();
    const std::string& strip = options_.stripComponent;
    if (src && !strip.empty()) {
        srcRel = srcRel.starts_with(strip + "/") ? srcRel.substr(strip.size() + 1) : std::string();
    }
    if (!src || srcRel.empty() || !files_.contains(srcRel))
        return fail(Code::kInvalidArgument, "hard link '" + e.path + "' -> '" + e.linkTarget +
                                                "' is not an earlier file inside");
    return srcRel;
}

// Phase 2: writes the plan below `root` in archive order, never following a
// link (openDirBelow walks with O_NOFOLLOW), never replacing anything
// (symlinkat, linkat and O_EXCL fail on an existing name). Returns what was
// written, by path. Throws std::system_error.
std::map<std::string, OutputFile> writePlan(wire::ByteView archive, int root,
                                            const std::vector<Planned>& plan) {
    std::map<std::string, OutputFile> out;
    for (const auto& p : plan) {
        if (p.type == '5') {
            openDirBelow(root, p.path, true);
            continue;
        }
        base::UniqueFd dir = openDirBelow(root, parentOf(p.path), true);
        std::string leaf = baseOf(p.path);
        OutputFile of;
        of.path = p.path;
        if (p.type == '2') {
            if (::symlinkat(p.linkTarget.c_str(), dir.get(), leaf.c_str()) != 0)
                throwErrno("symlinkat " + p.path);
            of.linkTarget = p.linkTarget;
            of.digest = wire::sha256(wire::asBytes(p.linkTarget));
        } else if (p.type == '1') {
            const OutputFile& src = out.at(p.linkTarget);
            base::UniqueFd srcDir = openDirBelow(root, parentOf(p.linkTarget), false);
            if (::linkat(srcDir.get(), baseOf(p.linkTarget).c_str(), dir.get(), leaf.c_str(), 0) !=
                0)
                throwErrno("linkat " + p.path);
            of.size = src.size;
            of.digest = src.digest;
        } else {
            mode_t mode = (p.entry->mode & 0111) ? 0755 : 0644;
            base::UniqueFd f(::openat(dir.get(), leaf.c_str(),
                                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
            if (f.get() < 0)
                throwErrno("create " + p.path);
            auto data = archive.subspan(p.entry->dataOffset, p.entry->size);
            writeAll(f.get(), data.data(), data.size(), p.path);
            of.size = data.size();
            of.digest = wire::sha256(data);
        }
        out.emplace(p.path, std::move(of));
    }
    return out;
}

} // namespace

std::expected<std::vector<OutputFile>, wire::Error> extractTar(wire::ByteView archive,
                                                               const std::filesystem::path& dest,
                                                               const ExtractOptions& options) {
    auto listed = listTar(archive, options.maxEntries);
    if (!listed)
        return std::unexpected(listed.error());

    // Phase 1: judge every entry; nothing is written unless all pass.
    Planner planner(options);
    for (const auto& e : *listed) {
        if (auto ok = planner.add(e); !ok)
            return std::unexpected(ok.error());
    }
    const std::vector<Planned> plan = planner.take();

    // Phase 2: write, never following a link, never replacing anything.
    base::UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (root.get() < 0)
        throwErrno("open " + dest.string());
    auto written = writePlan(archive, root.get(), plan);

    // Phase 3: the regular files and symlinks, sorted by path (the map's order).
    std::vector<OutputFile> result;
    result.reserve(written.size());
    for (auto& [path, file] : written)
        result.push_back(std::move(file));
    return result;
}

} // namespace swarm::sandbox

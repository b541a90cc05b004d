#include "sandbox/tar_reader.hpp"

#include "sandbox/safe_fs.hpp"
#include "sandbox/tar_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <system_error>

namespace swarm::sandbox {

namespace {

constexpr std::size_t kBlock = 512;
using Err = wire::Error;
using Code = wire::Error::Code;

std::unexpected<Err> fail(Code code, std::string what) {
    return std::unexpected(Err(code, "tar: " + std::move(what)));
}

std::string field(const std::uint8_t* p, std::size_t width) {
    std::size_t n = 0;
    while (n < width && p[n] != 0)
        ++n;
    return std::string(reinterpret_cast<const char*>(p), n);
}

std::optional<std::uint64_t> number(const std::uint8_t* p, std::size_t width) {
    if (p[0] & 0x80) { // base-256 (GNU) for large values
        if (p[0] != 0x80)
            return std::nullopt; // negative or absurdly large
        std::uint64_t v = 0;
        for (std::size_t i = 1; i < width; ++i) {
            if (v >> 56)
                return std::nullopt;
            v = (v << 8) | p[i];
        }
        return v;
    }
    std::uint64_t v = 0;
    std::size_t i = 0;
    while (i < width && p[i] == ' ')
        ++i;
    bool any = false;
    for (; i < width && p[i] >= '0' && p[i] <= '7'; ++i) {
        if (v >> 60)
            return std::nullopt;
        v = v * 8 + (p[i] - '0');
        any = true;
    }
    for (; i < width; ++i)
        if (p[i] != ' ' && p[i] != 0)
            return std::nullopt;
    if (!any)
        return 0;
    return v;
}

bool checksumOk(const std::uint8_t* h) {
    auto stored = number(h + 148, 8);
    if (!stored)
        return false;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kBlock; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == *stored;
}

bool allZero(const std::uint8_t* p) {
    return std::all_of(p, p + kBlock, [](std::uint8_t b) { return b == 0; });
}

// Parses pax extended header records "len key=value\n".
std::optional<std::map<std::string, std::string>> parsePax(std::string_view data) {
    std::map<std::string, std::string> out;
    while (!data.empty()) {
        auto sp = data.find(' ');
        if (sp == std::string_view::npos || sp == 0 || sp > 20)
            return std::nullopt;
        std::size_t len = 0;
        for (char c : data.substr(0, sp)) {
            if (c < '0' || c > '9')
                return std::nullopt;
            len = len * 10 + static_cast<std::size_t>(c - '0');
        }
        if (len <= sp + 1 || len > data.size() || data[len - 1] != '\n')
            return std::nullopt;
        auto record = data.substr(sp + 1, len - sp - 2);
        auto eq = record.find('=');
        if (eq == std::string_view::npos)
            return std::nullopt;
        out[std::string(record.substr(0, eq))] = std::string(record.substr(eq + 1));
        data.remove_prefix(len);
    }
    return out;
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

std::expected<std::vector<TarEntry>, wire::Error> listTar(wire::ByteView archive,
                                                          std::uint32_t maxEntries) {
    std::vector<TarEntry> entries;
    std::optional<std::string> longName, longLink;
    std::map<std::string, std::string> pax;
    std::size_t pos = 0;
    std::size_t metaBlocks = 0;
    while (true) {
        if (pos == archive.size())
            break; // tolerate a missing end marker at a block boundary
        if (archive.size() - pos < kBlock)
            return fail(Code::kTruncated, "archive ends inside a header");
        const std::uint8_t* h = archive.data() + pos;
        if (allZero(h))
            break;
        if (!checksumOk(h))
            return fail(Code::kMalformed, "bad header checksum");
        auto size = number(h + 124, 12);
        auto mode = number(h + 100, 8);
        if (!size || !mode)
            return fail(Code::kMalformed, "bad numeric field");
        std::size_t dataOffset = pos + kBlock;
        if (*size > archive.size() - dataOffset)
            return fail(Code::kTruncated, "member data runs past the end");
        std::uint64_t padded = (*size + kBlock - 1) / kBlock * kBlock;
        pos = dataOffset + std::min<std::uint64_t>(padded, archive.size() - dataOffset);
        char type = static_cast<char>(h[156]);
        std::string_view data(reinterpret_cast<const char*>(archive.data() + dataOffset), *size);
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            if (++metaBlocks > 4ull * maxEntries + 16)
                return fail(Code::kTooLarge, "too many metadata headers");
            if (*size > (1u << 20))
                return fail(Code::kTooLarge, "metadata header over 1 MiB");
            if (type == 'x') {
                auto parsed = parsePax(data);
                if (!parsed)
                    return fail(Code::kMalformed, "bad pax header");
                pax = std::move(*parsed);
            } else if (type == 'L') {
                longName = std::string(data.substr(0, data.find('\0')));
            } else if (type == 'K') {
                longLink = std::string(data.substr(0, data.find('\0')));
            } // 'g' (global pax) carries nothing we use
            continue;
        }
        TarEntry e;
        std::string name = field(h, 100);
        std::string prefix = field(h + 345, 155);
        bool ustar = std::memcmp(h + 257, "ustar", 5) == 0;
        e.path = (ustar && !prefix.empty()) ? prefix + "/" + name : name;
        e.linkTarget = field(h + 157, 100);
        if (longName)
            e.path = *longName;
        if (longLink)
            e.linkTarget = *longLink;
        if (auto it = pax.find("path"); it != pax.end())
            e.path = it->second;
        if (auto it = pax.find("linkpath"); it != pax.end())
            e.linkTarget = it->second;
        if (auto it = pax.find("size"); it != pax.end())
            return fail(Code::kMalformed, "pax size override not supported");
        longName.reset();
        longLink.reset();
        pax.clear();
        if (e.path.find('\0') != std::string::npos || e.linkTarget.find('\0') != std::string::npos)
            return fail(Code::kMalformed, "NUL in a path");
        e.type = type == 0 ? '0' : type;
        e.size = *size;
        e.mode = static_cast<std::uint32_t>(*mode & 07777);
        e.dataOffset = dataOffset;
        if (entries.size() >= maxEntries)
            return fail(Code::kTooLarge, "more than " + std::to_string(maxEntries) + " entries");
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

#include "sandbox/volume_files.hpp"

#include "base/sha256.hpp"
#include "sandbox/safe_fs.hpp"
#include "wire/digest.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <map>
#include <memory>

namespace swarm::sandbox {

namespace {

using Code = wire::Error::Code;
constexpr std::size_t kChunk = 1u << 20;

std::unexpected<wire::Error> refuse(Code code, std::string what) {
    return std::unexpected(wire::Error(code, std::move(what)));
}

base::UniqueFd openDirectory(const std::filesystem::path& dir) {
    base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0)
        throwErrno("open " + dir.string());
    return fd;
}

void setOwner(int fd, TarOwner owner, mode_t mode, const std::string& what) {
    if (::fchown(fd, owner.uid, owner.gid) != 0)
        throwErrno("chown " + what);
    if (::fchmod(fd, mode) != 0)
        throwErrno("chmod " + what);
}

// Reads up to `size` bytes; fewer only at end of file.
std::size_t readSome(int fd, std::uint8_t* data, std::size_t size, const std::string& what) {
    std::size_t done = 0;
    while (done < size) {
        auto n = ::read(fd, data + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throwErrno("read " + what);
        }
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

struct Planned {
    enum class Kind { kDir, kFile, kLink };
    std::string path; // relative to out/
    Kind kind;
    std::uint64_t size = 0;
    bool executable = false;
    std::string linkTarget;
};

class Judge {
public:
    Judge(std::uint64_t maxBytes, std::uint32_t maxEntries)
        : maxBytes_(maxBytes), maxEntries_(maxEntries) {}

    // Walks the directory `fd` (at `rel` below out/, whose entries have
    // `depth` path components), adding to plan_.
    std::optional<wire::Error> walk(int fd, const std::string& rel, int depth) {
        base::UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
        if (!copy)
            throwErrno("dup");
        DIR* dir = ::fdopendir(copy.get());
        if (!dir)
            throwErrno("opendir " + rel);
        std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
        (void)copy.release(); // closedir() closes it now
        while (true) {
            errno = 0;
            dirent* e = ::readdir(dir);
            if (!e) {
                if (errno != 0)
                    throwErrno("readdir " + rel);
                return std::nullopt;
            }
            std::string name = e->d_name;
            if (name == "." || name == "..")
                continue;
            std::string path = rel.empty() ? name : rel + "/" + name;
            if (depth > kMaxOutputDepth)
                return wire::Error(Code::kInvalidArgument, "outputs nested deeper than " +
                                                               std::to_string(kMaxOutputDepth) +
                                                               " levels");
            if (++entries_ > maxEntries_)
                return wire::Error(Code::kTooLarge,
                                   "more than " + std::to_string(maxEntries_) + " entries");
            struct stat st {};
            if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                throwErrno("stat " + path);
            if (S_ISDIR(st.st_mode)) {
                plan_.push_back({path, Planned::Kind::kDir});
                base::UniqueFd sub(
                    ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (sub.get() < 0)
                    throwErrno("open " + path);
                if (auto bad = walk(sub.get(), path, depth + 1))
                    return bad;
            } else if (S_ISREG(st.st_mode)) {
                bytes_ += static_cast<std::uint64_t>(st.st_size);
                if (bytes_ > maxBytes_)
                    return wire::Error(Code::kTooLarge,
                                       "outputs over " + std::to_string(maxBytes_) + " bytes");
                plan_.push_back({path, Planned::Kind::kFile, static_cast<std::uint64_t>(st.st_size),
                                 (st.st_mode & 0111) != 0});
            } else if (S_ISLNK(st.st_mode)) {
                char buf[4096];
                auto n = ::readlinkat(fd, name.c_str(), buf, sizeof buf);
                if (n < 0)
                    throwErrno("readlink " + path);
                std::string target(buf, static_cast<std::size_t>(n));
                if (static_cast<std::size_t>(n) == sizeof buf)
                    return wire::Error(Code::kInvalidArgument,
                                       "symlink '" + path + "' has an over-long target");
                if (target.empty() || target.front() == '/')
                    return wire::Error(Code::kInvalidArgument,
                                       "symlink '" + path + "' -> '" + target + "' is absolute");
                if (!pointsDownward(target))
                    return wire::Error(Code::kInvalidArgument, "symlink '" + path + "' -> '" +
                                                                   target +
                                                                   "' may leave the output");
                plan_.push_back({path, Planned::Kind::kLink, 0, false, target});
            } else if (S_ISFIFO(st.st_mode)) {
                return wire::Error(Code::kInvalidArgument, "fifo '" + path + "' refused");
            } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                return wire::Error(Code::kInvalidArgument, "device node '" + path + "' refused");
            } else {
                return wire::Error(Code::kInvalidArgument,
                                   "'" + path + "' is not a file, directory or symlink; refused");
            }
        }
    }

    std::vector<Planned>& plan() { return plan_; }

private:
    std::uint64_t maxBytes_;
    std::uint32_t maxEntries_;
    std::uint64_t bytes_ = 0;
    std::uint32_t entries_ = 0;
    std::vector<Planned> plan_;
};

} // namespace

std::optional<IdMapping> IdMapping::parse(const std::vector<std::string>& uidMap,
                                          const std::vector<std::string>& gidMap) {
    auto ranges = [](const std::vector<std::string>& texts) -> std::optional<std::vector<Range>> {
        std::vector<Range> out;
        for (const auto& t : texts) {
            Range r{};
            std::uint64_t* fields[] = {&r.inside, &r.host, &r.count};
            const char* p = t.data();
            const char* end = t.data() + t.size();
            for (int i = 0; i < 3; ++i) {
                auto [next, ec] = std::from_chars(p, end, *fields[i]);
                if (ec != std::errc() || next == p || *fields[i] > 0xffffffffull)
                    return std::nullopt;
                p = next;
                if (i < 2) {
                    if (p == end || *p != ':')
                        return std::nullopt;
                    ++p;
                }
            }
            if (p != end || r.count == 0)
                return std::nullopt;
            out.push_back(r);
        }
        return out;
    };
    auto u = ranges(uidMap);
    auto g = ranges(gidMap);
    if (!u || !g)
        return std::nullopt;
    IdMapping m;
    m.uids_ = std::move(*u);
    m.gids_ = std::move(*g);
    return m;
}

std::optional<std::uint32_t> IdMapping::map(const std::vector<Range>& ranges, std::uint32_t id) {
    if (ranges.empty())
        return id;
    for (const auto& r : ranges) {
        if (id >= r.inside && id - r.inside < r.count) {
            std::uint64_t host = r.host + (id - r.inside);
            if (host > 0xffffffffull)
                return std::nullopt;
            return static_cast<std::uint32_t>(host);
        }
    }
    return std::nullopt;
}

std::optional<TarOwner> IdMapping::toHost(TarOwner inside) const {
    auto uid = map(uids_, inside.uid);
    auto gid = map(gids_, inside.gid);
    if (!uid || !gid)
        return std::nullopt;
    return TarOwner{*uid, *gid};
}

std::uint64_t writeInputs(const std::filesystem::path& volumeDir,
                          const std::vector<InputFile>& inputs, TarOwner root, TarOwner unit) {
    base::UniqueFd volume = openDirectory(volumeDir);
    base::UniqueFd in = openDirBelow(volume.get(), "in", true, 0555);
    setOwner(in.get(), root, 0555, "in");
    std::uint64_t written = 0;
    std::vector<std::uint8_t> buf(kChunk);
    for (const auto& input : inputs) {
        // Parent directories, each owned and read-only like in/ itself.
        std::string parent = parentOf(input.name);
        for (std::size_t slash = parent.find('/'); !parent.empty();
             slash = parent.find('/', slash + 1)) {
            std::string dir = parent.substr(0, slash);
            base::UniqueFd d = openDirBelow(in.get(), dir, true, 0555);
            setOwner(d.get(), root, 0555, "in/" + dir);
            if (slash == std::string::npos)
                break;
        }
        base::UniqueFd dir = openDirBelow(in.get(), parent, false);
        std::string what = "in/" + input.name;
        base::UniqueFd src(::open(input.source.c_str(), O_RDONLY | O_CLOEXEC));
        if (src.get() < 0)
            throwErrno("open " + input.source.string());
        base::UniqueFd dst(::openat(dir.get(), baseOf(input.name).c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
        if (dst.get() < 0)
            throwErrno("create " + what);
        while (auto n = readSome(src.get(), buf.data(), buf.size(), input.source.string())) {
            writeAll(dst.get(), buf.data(), n, what);
            written += n;
        }
        setOwner(dst.get(), root, 0444, what);
    }
    for (const char* own : {"out", "ckpt"}) {
        if (::mkdirat(volume.get(), own, 0755) != 0)
            throwErrno(std::string("mkdir ") + own);
        base::UniqueFd d = openDirBelow(volume.get(), own, false);
        setOwner(d.get(), unit, 0755, own);
    }
    return written;
}

std::expected<std::vector<OutputFile>, wire::Error>
copyOutputs(const std::filesystem::path& volumeDir, const std::filesystem::path& dest,
            std::uint64_t maxBytes, std::uint32_t maxEntries, const std::string& subdir) {
    base::UniqueFd volume = openDirectory(volumeDir);
    // The unit owns /work: out/ may be gone, or replaced by a file or a link.
    base::UniqueFd out(
        ::openat(volume.get(), subdir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (out.get() < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return refuse(Code::kNotFound, "the unit removed /work/" + subdir);
        throwErrno("open " + subdir);
    }

    // Phase 1: judge the whole tree; nothing is written unless all of it passes.
    Judge judge(maxBytes, maxEntries);
    if (auto bad = judge.walk(out.get(), "", 1))
        return std::unexpected(*bad);

    // Phase 2: copy, never following a link on either side, never replacing
    // anything. The container has exited, so the tree no longer changes; a
    // file that does anyway is refused.
    base::UniqueFd root = openDirectory(dest);
    std::map<std::string, OutputFile> copied;
    std::vector<std::uint8_t> buf(kChunk);
    for (const auto& p : judge.plan()) {
        if (p.kind == Planned::Kind::kDir) {
            openDirBelow(root.get(), p.path, true);
            continue;
        }
        base::UniqueFd dir = openDirBelow(root.get(), parentOf(p.path), true);
        std::string leaf = baseOf(p.path);
        OutputFile of;
        of.path = p.path;
        if (p.kind == Planned::Kind::kLink) {
            if (::symlinkat(p.linkTarget.c_str(), dir.get(), leaf.c_str()) != 0)
                throwErrno("symlinkat " + p.path);
            of.linkTarget = p.linkTarget;
            of.digest = wire::sha256(wire::asBytes(p.linkTarget));
            copied.emplace(p.path, std::move(of));
            continue;
        }
        base::UniqueFd srcDir = openDirBelow(out.get(), parentOf(p.path), false);
        base::UniqueFd src(::openat(srcDir.get(), leaf.c_str(),
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        struct stat st {};
        if (src.get() < 0 || ::fstat(src.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
            static_cast<std::uint64_t>(st.st_size) != p.size)
            return refuse(Code::kInvalidArgument, "'" + p.path + "' changed while being copied");
        base::UniqueFd dst(::openat(dir.get(), leaf.c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    p.executable ? 0755 : 0644));
        if (dst.get() < 0)
            throwErrno("create " + p.path);
        base::Sha256 hash;
        std::uint64_t done = 0;
        while (done < p.size) {
            auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), p.size - done));
            auto n = readSome(src.get(), buf.data(), want, p.path);
            if (n != want)
                return refuse(Code::kInvalidArgument,
                              "'" + p.path + "' changed while being copied");
            hash.update(wire::ByteView(buf.data(), n));
            writeAll(dst.get(), buf.data(), n, p.path);
            done += n;
        }
        of.size = p.size;
        of.digest = wire::Digest{hash.finish()};
        copied.emplace(p.path, std::move(of));
    }
    std::vector<OutputFile> result;
    result.reserve(copied.size());
    for (auto& [path, file] : copied)
        result.push_back(std::move(file));
    return result;
}

} // namespace swarm::sandbox

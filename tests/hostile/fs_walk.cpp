#include "hostile/fs_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace swarm::hostile {

namespace {

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

bool skipped(const std::string& path, const std::vector<std::string>& skip) {
    return std::any_of(skip.begin(), skip.end(), [&](const std::string& s) {
        if (!s.empty() && s.back() == '*')
            return path.starts_with(std::string_view(s).substr(0, s.size() - 1));
        return path == s;
    });
}

} // namespace

WalkOptions systemWalkOptions() {
    WalkOptions o;
    o.skip = {"/proc",
              "/sys",
              "/dev",
              "/run",
              "/var/run",
              "/var/lib/containers",
              "/root/.local/share/containers",
              "/tmp/swarmtest-runtime-*",
              "/tmp/containers-user-*",
              "/tmp/podman-run-*",
              "/tmp/storage-run-*"};
    // Rootless users' storage is below their homes.
    std::error_code ec;
    for (const auto& home : std::filesystem::directory_iterator("/home", ec))
        o.skip.push_back((home.path() / ".local/share/containers").string());
    return o;
}

WalkReport walkFor(const std::filesystem::path& root, std::string_view needle,
                   const WalkOptions& options) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto deadline = start + options.maxTime;
    WalkReport report;
    struct stat rootStat {};
    if (::lstat(root.c_str(), &rootStat) != 0)
        return report;
    std::vector<std::string> pending{root.string()};
    while (!pending.empty()) {
        if (report.entries >= options.maxEntries || Clock::now() > deadline) {
            report.truncated = true;
            break;
        }
        const std::string dir = std::move(pending.back());
        pending.pop_back();
        std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
        if (!d)
            continue;
        ++report.dirs;
        const std::string prefix = dir == "/" ? dir : dir + "/";
        while (const dirent* e = ::readdir(d.get())) {
            const std::string_view name = e->d_name;
            if (name == "." || name == "..")
                continue;
            ++report.entries;
            std::string path = prefix + std::string(name);
            if (name.find(needle) != std::string_view::npos)
                report.matches.emplace_back(path);
            bool isDir = e->d_type == DT_DIR;
            if (e->d_type == DT_UNKNOWN) {
                struct stat st {};
                isDir = ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
            }
            if (!isDir || skipped(path, options.skip))
                continue;
            if (options.oneFileSystem) {
                struct stat st {};
                if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    st.st_dev != rootStat.st_dev)
                    continue;
            }
            pending.push_back(std::move(path));
        }
    }
    report.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return report;
}

std::set<std::string> listDir(const std::filesystem::path& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        names.insert(e.path().filename().string());
    return names;
}

std::vector<std::string> added(const std::set<std::string>& before,
                               const std::set<std::string>& after) {
    std::vector<std::string> out;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                        std::back_inserter(out));
    return out;
}

bool swarmLikeTmpName(std::string_view name) {
    auto alnum = [](std::string_view t) {
        return std::all_of(t.begin(), t.end(),
                           [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
    };
    // mkdtemp("<name>-XXXXXX") directories of other test runs
    if (name.size() > 7 && name[name.size() - 7] == '-' && alnum(name.substr(name.size() - 6)))
        return false;
    static constexpr std::string_view kPrefixes[] = {"swarm",      "planted", "unit", "work",
                                                     "podman",     "libpod",  "runc", "conmon",
                                                     "containers", "storage"};
    return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                       [&](std::string_view p) { return name.starts_with(p); });
}

} // namespace swarm::hostile

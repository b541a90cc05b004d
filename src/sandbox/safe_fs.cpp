#include "sandbox/safe_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace swarm::sandbox {

void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

base::UniqueFd openDirBelow(int root, const std::string& rel, bool create, unsigned mode) {
    base::UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (cur.get() < 0)
        throwErrno("dup");
    std::size_t start = 0;
    while (start < rel.size()) {
        auto end = rel.find('/', start);
        if (end == std::string::npos)
            end = rel.size();
        std::string part = rel.substr(start, end - start);
        if (create && ::mkdirat(cur.get(), part.c_str(), mode) != 0 && errno != EEXIST)
            throwErrno("mkdirat " + rel);
        base::UniqueFd next(
            ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (next.get() < 0)
            throwErrno("openat " + rel);
        cur = std::move(next);
        start = end + 1;
    }
    return cur;
}

std::string parentOf(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

void writeAll(int fd, const std::uint8_t* data, std::size_t size, const std::string& what) {
    std::size_t done = 0;
    while (done < size) {
        auto n = ::write(fd, data + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throwErrno("write " + what);
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string baseOf(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool pointsDownward(std::string_view target) {
    if (target.empty() || target.front() == '/')
        return false;
    std::size_t start = 0;
    while (start <= target.size()) {
        auto end = target.find('/', start);
        if (end == std::string_view::npos)
            end = target.size();
        if (target.substr(start, end - start) == "..")
            return false;
        start = end + 1;
    }
    return true;
}

} // namespace swarm::sandbox

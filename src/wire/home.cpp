#include "wire/home.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <system_error>

namespace swarm::wire {

std::optional<std::string> processEnv(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return std::nullopt;
    return std::string(v);
}

std::filesystem::path resolveHome(const std::optional<std::string>& flag, const EnvLookup& env) {
    if (flag && !flag->empty())
        return *flag;
    if (auto v = env("SWARM_HOME"))
        return *v;
    if (auto v = env("XDG_CONFIG_HOME"))
        return std::filesystem::path(*v) / "swarm";
    if (auto v = env("HOME"))
        return std::filesystem::path(*v) / ".config" / "swarm";
    throw std::runtime_error("cannot find the swarm home: set --home, SWARM_HOME or HOME");
}

void writeFileAtomic(const std::filesystem::path& path, std::string_view data, unsigned mode) {
    auto dir = path.parent_path();
    if (dir.empty())
        dir = ".";
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec)
            throw std::system_error(ec, "cannot create " + dir.string());
        ::chmod(dir.c_str(), 0700);
    }
    std::random_device rd;
    auto tmp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(rd()));
    base::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "cannot create " + tmp.string());
    auto failWith = [&](int err, const char* what) {
        fd.reset();
        ::unlink(tmp.c_str());
        throw std::system_error(err, std::generic_category(),
                                std::string(what) + " " + tmp.string());
    };
    ::fchmod(fd.get(), mode); // the umask must not widen or narrow what we asked for
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            failWith(errno, "cannot write");
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0)
        failWith(errno, "cannot sync");
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw std::system_error(err, std::generic_category(), "cannot rename to " + path.string());
    }
    if (base::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dfd)
        ::fsync(dfd.get());
}

} // namespace swarm::wire

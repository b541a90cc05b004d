#include "worker/control_server.hpp"

#include "base/json_writer.hpp"
#include "wire/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace swarm::worker {

namespace {
const wire::Logger kLog("worker");

sockaddr_un addressOf(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto& s = path.native();
    if (s.size() >= sizeof addr.sun_path)
        throw std::runtime_error("control socket path too long: " + s);
    std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
    return addr;
}

// Reads one short line within `ms`; empty on timeout or error.
std::string readLine(int fd, int ms) {
    std::string line;
    char c;
    while (line.size() < 64) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0)
            return {};
        if (::read(fd, &c, 1) != 1)
            break;
        if (c == '\n')
            break;
        line += c;
    }
    return line;
}

void writeAll(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += static_cast<std::size_t>(n);
    }
}
} // namespace

ControlServer::ControlServer(std::filesystem::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    auto addr = addressOf(path_);
    ::unlink(path_.c_str()); // a stale socket of a crashed daemon
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_)
        throw std::system_error(errno, std::generic_category(), "control socket");
    // Only the owner may talk to the daemon: create the socket 0600.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0 || ::listen(fd_.get(), 8) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot bind " + path_.string());
    int wake[2];
    if (::pipe2(wake, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    wakeRead_.reset(wake[0]);
    wakeWrite_.reset(wake[1]);
    thread_ = std::thread([this] { loop(); });
}

ControlServer::~ControlServer() {
    char c = 'x';
    (void)!::write(wakeWrite_.get(), &c, 1);
    if (thread_.joinable())
        thread_.join();
    ::unlink(path_.c_str());
}

void ControlServer::loop() {
    for (;;) {
        pollfd p[2] = {{fd_.get(), POLLIN, 0}, {wakeRead_.get(), POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[1].revents != 0)
            return;
        const base::UniqueFd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client)
            continue;
        writeAll(client.get(), answer(readLine(client.get(), 1000)) + "\n");
    }
}

std::string ControlServer::answer(const std::string& line) {
    auto request = parseControlLine(line);
    if (!request)
        return base::JsonObject().add("error", request.error()).str();
    try {
        return handler_(*request);
    } catch (const std::exception& e) {
        kLog.error("control request '{}' failed: {}", request->line(), e.what());
        return base::JsonObject().add("error", request->line() + " failed: " + e.what()).str();
    }
}

std::string sendControl(const std::filesystem::path& path, const ControlRequest& request) {
    auto addr = addressOf(path);
    const base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("no worker is running with this home (" + path.string() +
                                 " does not answer)");
    writeAll(fd.get(), request.line() + "\n");
    std::string reply;
    char buf[4096];
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0)
            break;
        reply.append(buf, static_cast<std::size_t>(n));
        if (reply.size() > (1u << 20))
            break;
    }
    if (reply.empty())
        throw std::runtime_error("the worker did not answer on " + path.string());
    while (!reply.empty() && reply.back() == '\n')
        reply.pop_back();
    return reply;
}

} // namespace swarm::worker

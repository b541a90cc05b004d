#include "submitter/control_socket.hpp"

#include "wire/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace swarm::submitter {

namespace {

const wire::Logger kLog("submit");
// How long a client has to send its request line.
constexpr int kRequestTimeoutMs = 2000;
// Connections served at once; more are refused at once.
constexpr std::size_t kMaxClients = 16;

sockaddr_un addressOf(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto& s = path.native();
    if (s.size() >= sizeof addr.sun_path)
        throw std::runtime_error("the control socket path is too long for a unix socket: " + s);
    std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
    return addr;
}

// One line of at most `max` bytes within `ms`; nullopt on timeout, error,
// end of stream or an overlong line.
std::optional<std::string> readLine(int fd, int ms, std::size_t max) {
    std::string line;
    char c;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0 || ::read(fd, &c, 1) != 1)
            return std::nullopt;
        if (c == '\n')
            return line;
        if (line.size() == max)
            return std::nullopt;
        line += c;
    }
}

bool writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool writeLine(int fd, std::string_view line) {
    std::string out(line);
    out += '\n';
    return writeAll(fd, out);
}

// The uid of the process at the other end of a unix socket.
std::optional<uid_t> peerUid(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return std::nullopt;
    return cred.uid;
}

} // namespace

ControlSocket::ControlSocket(const std::filesystem::path& jobDir, unsigned uid, Handler handler)
    : path_(path(jobDir)), uid_(uid), handler_(std::move(handler)) {
    auto addr = addressOf(path_);
    ::unlink(path_.c_str()); // stale: we hold the journal lock
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_)
        throw std::system_error(errno, std::generic_category(), "control socket");
    // Made 0600 right after bind (not through umask, which is the whole
    // process's while other threads create files); SO_PEERCRED on each
    // connection is what actually decides.
    const int rc = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 || ::chmod(path_.c_str(), 0600) != 0 || ::listen(fd_.get(), 8) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot bind " + path_.string());
    int wake[2];
    if (::pipe2(wake, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    wakeRead_.reset(wake[0]);
    wakeWrite_.reset(wake[1]);
    thread_ = std::thread([this] { acceptLoop(); });
}

ControlSocket::~ControlSocket() {
    const char c = 'x';
    (void)!::write(wakeWrite_.get(), &c, 1);
    if (thread_.joinable())
        thread_.join();
    std::list<Client> clients;
    {
        std::lock_guard lock(mutex_);
        clients.swap(clients_);
    }
    for (auto& client : clients)
        client.thread.join();
    ::unlink(path_.c_str());
}

void ControlSocket::reapClients() {
    std::lock_guard lock(mutex_);
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (*it->done) {
            it->thread.join();
            it = clients_.erase(it);
        } else {
            ++it;
        }
    }
}

void ControlSocket::acceptLoop() {
    for (;;) {
        pollfd p[2] = {{fd_.get(), POLLIN, 0}, {wakeRead_.get(), POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[1].revents != 0)
            return;
        base::UniqueFd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client)
            continue;
        reapClients();
        std::lock_guard lock(mutex_);
        if (clients_.size() >= kMaxClients) {
            (void)writeLine(client.get(), "error too many control connections");
            continue;
        }
        auto done = std::make_shared<std::atomic<bool>>(false);
        clients_.push_back({std::thread([this, done, fd = std::move(client)]() mutable {
                                serve(std::move(fd));
                                *done = true;
                            }),
                            done});
    }
}

void ControlSocket::serve(base::UniqueFd client) {
    const int fd = client.get();
    const auto uid = peerUid(fd);
    if (!uid || *uid != uid_) {
        kLog.warn("control socket: refused a connection from uid {}",
                  uid ? std::to_string(*uid) : std::string("?"));
        (void)writeLine(fd, "error not the owner of this run");
        return;
    }
    const auto request = readLine(fd, kRequestTimeoutMs, kMaxRequest);
    if (!request) {
        (void)writeLine(fd, "error no request line");
        return;
    }
    std::string final;
    try {
        final = handler_(*request, [fd](std::string_view line) { return writeLine(fd, line); });
    } catch (const std::exception& e) {
        kLog.error("control request '{}' failed: {}", *request, e.what());
        final = std::string("error ") + e.what();
    }
    (void)writeLine(fd, final);
}

std::expected<std::string, std::string>
askRun(const std::filesystem::path& jobDir, std::string_view request,
       const std::function<void(std::string_view line)>& onLine) {
    const auto file = ControlSocket::path(jobDir);
    auto addr = addressOf(file);
    const base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::unexpected("the run holding " + jobDir.string() + " does not answer on " +
                               file.string() + ": " + std::strerror(errno));
    // The answer counts only from a run of ours (or root's): anyone who can
    // write the job directory could put a socket there.
    const auto server = peerUid(fd.get());
    if (!server || (*server != ::geteuid() && *server != 0))
        return std::unexpected(file.string() + " is not served by a run of this user");
    if (!writeLine(fd.get(), request))
        return std::unexpected("the run holding " + jobDir.string() + " closed its control socket");
    for (;;) {
        // No timeout: a stream lasts as long as the run says.
        auto line = readLine(fd.get(), -1, std::size_t{1} << 20);
        if (!line)
            return std::unexpected("the run holding " + jobDir.string() +
                                   " ended without an answer");
        if (line->starts_with("ok ") || line->starts_with("error ") || *line == "ok")
            return *line;
        if (onLine)
            onLine(*line);
    }
}

} // namespace swarm::submitter

#pragma once

#include "base/unique_fd.hpp"

#include <atomic>
#include <expected>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace swarm::submitter {

/// A live run's control socket: `DIR/control.sock`, a unix stream socket
/// (mode 0600) through which other swarm-submit processes of the same user
/// reach the run that holds the job directory.
///
/// Protocol: the client sends one request line ("cancel", "follow UNIT
/// REPLICA"), at most kMaxRequest bytes. The run answers with lines:
/// zero or more data lines, then one final line that starts with "ok " or
/// "error ", after which it closes. A stream (follow) sends data lines as
/// they come, so a client reads until the final line.
///
/// Only a peer with the run's own uid is served (SO_PEERCRED), whatever the
/// socket file's mode says; others get "error not the owner of this run".
/// Each connection is served on a thread of its own; the handler may block
/// (a cancel waits for the workers' answers).
class ControlSocket {
public:
    static constexpr std::size_t kMaxRequest = 1024;

    /// Writes one line to the client (the newline is added); false once the
    /// client is gone.
    using Answer = std::function<bool(std::string_view line)>;
    /// Serves one request: sends data lines, if any, and returns the final
    /// line ("ok ..." or "error ..."). Called on the connection's thread.
    using Handler = std::function<std::string(std::string_view request, const Answer& answer)>;

    static std::filesystem::path path(const std::filesystem::path& jobDir) {
        return jobDir / "control.sock";
    }

    /// Binds `path(jobDir)` and starts serving. A socket file already there
    /// is stale (the caller holds the job's journal lock, so no other run
    /// can be using it) and is replaced. `uid` is who may connect. Throws
    /// std::system_error if it cannot bind, std::runtime_error if the path
    /// is too long for a unix socket.
    ControlSocket(const std::filesystem::path& jobDir, unsigned uid, Handler handler);
    /// Stops accepting, waits for the connections being served, removes the
    /// socket file.
    ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

private:
    struct Client {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    void acceptLoop();
    void reapClients();
    void serve(base::UniqueFd client);

    std::filesystem::path path_;
    unsigned uid_;
    Handler handler_;
    base::UniqueFd fd_;
    base::UniqueFd wakeRead_; // the destructor writes to wakeWrite_ to stop acceptLoop()
    base::UniqueFd wakeWrite_;
    std::mutex mutex_; // guards clients_
    std::list<Client> clients_;
    std::thread thread_;
};

/// Sends `request` to the run behind `DIR/control.sock` and reads its
/// answer: each data line goes to `onLine`, the final line is returned
/// (without its newline). The error is one line: no run answers, or the
/// run closed without a final line. Blocks until the final line.
std::expected<std::string, std::string>
askRun(const std::filesystem::path& jobDir, std::string_view request,
       const std::function<void(std::string_view line)>& onLine = {});

} // namespace swarm::submitter

#pragma once

#include "base/unique_fd.hpp"
#include "worker/control_request.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace swarm::worker {

/// The daemon's local control socket: a unix socket (mode 0600) in the swarm
/// home. A client sends one line (ControlRequest): "status" (one JSON line
/// back), "status text" (a table for people, several lines), "suspend
/// [SECONDS]" or "resume" (one JSON line back). A line not understood is
/// answered with {"error": "..."} naming what is.
/// Serves on its own thread, one short request at a time.
class ControlServer {
public:
    /// The answer to a request, without the final newline. May throw: the
    /// client is then told the request failed.
    using Handler = std::function<std::string(const ControlRequest&)>;

    /// Binds `path` (replacing a stale socket file) and starts serving.
    /// Throws std::system_error if it cannot bind.
    ControlServer(std::filesystem::path path, Handler handler);
    /// Stops, joins and removes the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

private:
    void loop();
    std::string answer(const std::string& line);

    std::filesystem::path path_;
    Handler handler_;
    base::UniqueFd fd_;
    base::UniqueFd wakeRead_; // the destructor writes to wakeWrite_ to stop loop()
    base::UniqueFd wakeWrite_;
    std::thread thread_;
};

/// Sends `request` to a running daemon: its answer (the status JSON line or
/// table, or a JSON line). Throws std::runtime_error naming the socket if
/// no daemon answers.
std::string sendControl(const std::filesystem::path& path, const ControlRequest& request);

/// Asks a running daemon for its status: the JSON line it answered, or its
/// table. Throws std::runtime_error naming the socket if no daemon answers.
inline std::string queryStatus(const std::filesystem::path& path, bool json = true) {
    return sendControl(path,
                       {json ? ControlRequest::Kind::kStatus : ControlRequest::Kind::kStatusText});
}

/// The control socket's place in a swarm home.
inline std::filesystem::path controlSocketPath(const std::filesystem::path& home) {
    return home / "worker.sock";
}

} // namespace swarm::worker

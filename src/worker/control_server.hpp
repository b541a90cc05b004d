#pragma once

#include "base/unique_fd.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace swarm::worker {

/// The daemon's local control socket: a unix socket (mode 0600) in the swarm
/// home. A client sends one line, "status" (one JSON line back) or "status
/// text" (a table for people, several lines).
/// Serves on its own thread, one short request at a time.
class ControlServer {
public:
    /// The status as JSON (`json`), else as text.
    using StatusFn = std::function<std::string(bool json)>;

    /// Binds `path` (replacing a stale socket file) and starts serving.
    /// Throws std::system_error if it cannot bind.
    ControlServer(std::filesystem::path path, StatusFn status);
    /// Stops, joins and removes the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

private:
    void loop();

    std::filesystem::path path_;
    StatusFn status_;
    base::UniqueFd fd_;
    base::UniqueFd wakeRead_; // the destructor writes to wakeWrite_ to stop loop()
    base::UniqueFd wakeWrite_;
    std::thread thread_;
};

/// Asks a running daemon for its status: the JSON line it answered, or its
/// table. Throws std::runtime_error naming the socket if no daemon answers.
std::string queryStatus(const std::filesystem::path& path, bool json = true);

/// The control socket's place in a swarm home.
inline std::filesystem::path controlSocketPath(const std::filesystem::path& home) {
    return home / "worker.sock";
}

} // namespace swarm::worker

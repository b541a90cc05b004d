#pragma once

#include "sandbox/log_demuxer.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace swarm::sandbox {

/// Streams a container's stdout/stderr (POST /attach) on a thread of its
/// own, with its own connection, from before start to exit, so that every
/// byte is counted even when conmon truncates its log file. Joined on
/// destruction; must be destroyed after the container is removed (removal
/// ends the stream if nothing else did). Its methods are called by one
/// thread, the one that owns it.
class AttachStream {
public:
    /// Keeps at most `cap` bytes of stdout and stderr together; `tap`, if
    /// any, sees them as they come, on the stream's thread.
    explicit AttachStream(std::uint64_t cap, LogTap* tap = nullptr) : logs_(cap, tap) {}
    ~AttachStream() { join(); }
    AttachStream(const AttachStream&) = delete;
    AttachStream& operator=(const AttachStream&) = delete;

    /// Starts the stream to `container` through `socket`, which ends after
    /// `timeout` at the latest. Call once. Failures show in attached() and
    /// logs(), never thrown.
    void begin(const std::filesystem::path& socket, const std::string& container,
               std::chrono::milliseconds timeout);
    /// True once Podman answered the attach with 200 (within `timeout`).
    bool attached(std::chrono::milliseconds timeout);
    /// True once the stream has ended (the unit's stdout and stderr are
    /// closed, normally because it exited), waiting at most `timeout`.
    bool ended(std::chrono::milliseconds timeout);
    /// Waits for the stream's thread (until the stream ends).
    void join();
    /// The captured logs, or nullptr when the attach stream failed. Only
    /// after join().
    const LogDemuxer* logs() const {
        return (status_ == 200 && !error_ && !logs_.malformed()) ? &logs_ : nullptr;
    }

private:
    std::thread thread_;
    std::mutex m_;
    std::condition_variable cv_;
    bool ready_ = false;
    bool ended_ = false;
    long status_ = 0;
    std::exception_ptr error_;
    LogDemuxer logs_;
};

} // namespace swarm::sandbox

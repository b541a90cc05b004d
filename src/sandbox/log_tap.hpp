#pragma once

#include <string_view>

namespace swarm::sandbox {

/// Receives a running unit's stdout and stderr as the sandbox reads them,
/// only the bytes its log cap keeps, in order per stream. Called on the
/// sandbox's attach thread, so it must not block: copy and return.
class LogTap {
public:
    enum class Stream { kStdout, kStderr };
    virtual ~LogTap() = default;
    /// Bytes the unit wrote to `stream`.
    virtual void write(Stream stream, std::string_view bytes) = 0;
    /// The log cap dropped bytes of `stream`: no more of it will come.
    virtual void truncated(Stream stream) = 0;
};

} // namespace swarm::sandbox

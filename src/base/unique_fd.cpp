#include "base/unique_fd.hpp"

#include <unistd.h>

#include <cassert>

namespace swarm::base {

void UniqueFd::reset(int fd) noexcept {
    assert(fd < 0 || fd != fd_);
    const int old = std::exchange(fd_, fd < 0 ? -1 : fd);
    // One close() and its result ignored, EINTR included: Linux has released
    // the descriptor even when close() reports EINTR or EIO, so a retry could
    // close a descriptor another thread has just been given. Nothing useful
    // can be done about a write-back error here; code that must know (a file
    // it fsyncs) calls fsync() before letting go.
    if (old >= 0)
        ::close(old);
}

} // namespace swarm::base

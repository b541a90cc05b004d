#pragma once

#include <utility>

namespace swarm::base {

/// Owns one file descriptor and closes it on destruction; the one owned-fd
/// type of the project (libcamera's UniqueFD is the model). Move-only. An
/// empty UniqueFd holds -1. Like the descriptor itself, one owner at a time:
/// not safe to use from two threads at once.
class UniqueFd {
public:
    UniqueFd() noexcept = default;
    /// Takes ownership of `fd`; any negative value (a failed open()) means
    /// none, so `UniqueFd fd(::open(...)); if (!fd) ...` reads errno intact.
    explicit UniqueFd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    /// The descriptor, still owned by this object; -1 if none.
    int get() const noexcept { return fd_; }
    bool isValid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return isValid(); }

    /// Gives the descriptor up without closing it: the caller now owns it.
    /// Leaves this object empty.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the held descriptor (if any) and takes ownership of `fd`
    /// (negative: none). `fd` must not be the descriptor already held.
    /// Never fails: see unique_fd.cpp for why a close error is not retried.
    void reset(int fd = -1) noexcept;
    void swap(UniqueFd& other) noexcept { std::swap(fd_, other.fd_); }

private:
    int fd_ = -1;
};

} // namespace swarm::base

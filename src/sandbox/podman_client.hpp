#pragma once

#include "base/error_kind.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace swarm::sandbox {

/// A request to Podman did not complete within its time limit: a
/// base::Failure with code PodmanErrc::kTimeout (transient).
struct TimeoutError : base::Failure {
    explicit TimeoutError(const std::string& what) : Failure(base::PodmanErrc::kTimeout, what) {}
};

/// Holds libcurl's process-wide initialisation. Create one in main() (and
/// in test mains) before any PodmanClient; not thread-safe.
class CurlGlobal {
public:
    CurlGlobal();
    ~CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
};

/// An HTTP response from Podman.
struct HttpResponse {
    long status = 0;
    std::string body;       ///< at most the requested cap
    bool truncated = false; ///< the body was longer than the cap
};

/// Talks HTTP/1.1 to Podman's REST API over a unix socket (libcurl). One
/// instance is used by one thread at a time; create one per thread.
class PodmanClient {
public:
    /// `socket` is the unix socket path; `apiPrefix` goes before every
    /// libpod path ("/v4.0.0/libpod").
    explicit PodmanClient(std::filesystem::path socket, std::string apiPrefix = "/v4.0.0/libpod");
    ~PodmanClient();
    PodmanClient(PodmanClient&&) noexcept;
    PodmanClient& operator=(PodmanClient&&) noexcept;

    /// Called with each received chunk; return false to stop the transfer.
    using Sink = std::function<bool(std::string_view)>;

    struct Request {
        std::string_view method = "GET";
        std::string path;      ///< below apiPrefix unless `raw`, e.g. "/containers/json"
        std::string_view body; ///< sent as-is
        /// Or, when >= 0: the body is read from this open file, from its
        /// offset, `bodyFileSize` bytes (an upload never held in memory).
        int bodyFile = -1;
        std::uint64_t bodyFileSize = 0;
        std::string_view contentType = "application/json";
        std::chrono::milliseconds timeout{30'000};
        bool raw = false; ///< path is absolute ("/_ping")
        /// Called once when the response headers are complete, with the
        /// status (before any body arrives). Must not throw.
        std::function<void(long)> onHeaders;
    };

    /// Performs a request and keeps at most `maxBody` bytes of the reply.
    /// Throws TimeoutError when `timeout` elapses, base::Failure with
    /// PodmanErrc::kUnreachable (transient) when the socket cannot be
    /// reached or the transfer breaks. Blocks.
    HttpResponse call(const Request& request, std::uint64_t maxBody = 16u << 20);

    /// Like call() but hands the body to `sink` as it arrives. Returns the
    /// HTTP status. A sink that returns false ends the transfer early (not an
    /// error). Exceptions thrown by the sink are rethrown after libcurl
    /// returns, never through it.
    long stream(const Request& request, const Sink& sink);

    /// GET /_ping answered "OK" within `timeout`. Never throws.
    bool ping(std::chrono::milliseconds timeout) noexcept;

    const std::filesystem::path& socket() const noexcept { return socket_; }

    /// Percent-encodes a query value.
    static std::string escape(std::string_view value);

private:
    struct Handle;
    std::filesystem::path socket_;
    std::string apiPrefix_;
    std::unique_ptr<Handle> handle_;
};

} // namespace swarm::sandbox

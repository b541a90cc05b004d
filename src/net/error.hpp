#pragma once

#include "wire/error.hpp"

#include <iosfwd>
#include <string>
#include <system_error>
#include <utility>

namespace swarm::net {

/// Why a stream operation failed. Carried in std::expected; never thrown.
/// `what` is one line for a human; it never contains keys or tokens.
struct Error {
    enum class Code {
        kTimeout,   ///< a deadline passed (fatal mid-frame; see Session::receive)
        kClosed,    ///< the peer closed the stream cleanly between frames
        kTruncated, ///< the peer closed the stream in the middle of a frame
        kRefused,   ///< could not connect, or the listener refused us
        kTls,       ///< TLS handshake or record layer failure
        kUntrusted, ///< peer key not allowed, not the key an offer named, bad token
        kTooLarge,  ///< a frame or blob over its limit
        kProtocol,  ///< bytes that do not decode, or a message we did not expect
        kCorrupt,   ///< blob content does not hash to its digest
        kNotFound,  ///< the peer does not have a blob we asked for
        kIo,        ///< a local file or socket error
    };

    Code code;
    std::string what;

    Error(Code c, std::string w) : code(c), what(std::move(w)) {}
};

/// Stable lower-case name of a code, e.g. "timeout".
const char* codeName(Error::Code code) noexcept;

/// Writes codeName(code) (for test output).
std::ostream& operator<<(std::ostream& out, Error::Code code);

/// "timeout: <what>".
std::string describe(const Error& error);

/// Maps a wire decoding error from a peer onto a stream error.
Error fromWire(const wire::Error& error);

/// The category of Error::Code as std::error_code ("net"). Its conditions
/// are base::ErrorKind: a timeout, a closed or truncated stream, a refused
/// connection, a TLS failure and a local I/O error are transient (the peer
/// or the path may come back); an untrusted peer, a frame over its limit,
/// bytes that do not decode, corrupt content and a missing blob are
/// permanent (the same peer sending the same thing fails the same way).
const std::error_category& netCategory() noexcept;
std::error_code make_error_code(Error::Code code) noexcept;

/// True if retrying later may help (see netCategory()).
bool isTransient(const Error& error) noexcept;

} // namespace swarm::net

template <> struct std::is_error_code_enum<swarm::net::Error::Code> : std::true_type {};

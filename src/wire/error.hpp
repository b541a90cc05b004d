#pragma once

#include <string>
#include <utility>

namespace swarm::wire {

/// What went wrong with input that came from outside (a peer, a file, a
/// user). Carried in std::expected; never thrown. `what` is one line meant
/// for a human and never contains key material.
struct Error {
    enum class Code {
        kMalformed,       ///< bytes do not parse as what they claim to be
        kTooLarge,        ///< a length or count is over its hard limit
        kTruncated,       ///< input ended early
        kBadSignature,    ///< signature does not verify
        kUnknownType,     ///< message type or schema version we do not speak
        kExpired,         ///< past its expiry
        kFromFuture,      ///< issued later than now + allowed clock skew
        kReplayed,        ///< nonce seen before
        kUntrusted,       ///< signer not on the allow-list / not who it claims
        kBadId,           ///< a peer id that does not parse
        kIo,              ///< a local file could not be read or written
        kPermissions,     ///< a local file is readable by others
        kExists,          ///< refusing to overwrite
        kNotFound,        ///< no such entry
        kInvalidArgument, ///< a caller or user asked for something impossible
        kRefused          ///< a field from a peer breaks its rule (wire/judge.hpp)
    };

    Code code;
    std::string what;

    Error(Code c, std::string w) : code(c), what(std::move(w)) {}
};

/// Stable lower-case name of an error code, e.g. "bad-signature"; used in
/// counters, logs and JSON output.
const char* codeName(Error::Code code) noexcept;

} // namespace swarm::wire

#include "wire/error.hpp"

namespace swarm::wire {

const char* codeName(Error::Code code) noexcept {
    switch (code) {
    case Error::Code::kMalformed:
        return "malformed";
    case Error::Code::kTooLarge:
        return "too-large";
    case Error::Code::kTruncated:
        return "truncated";
    case Error::Code::kBadSignature:
        return "bad-signature";
    case Error::Code::kUnknownType:
        return "unknown-type";
    case Error::Code::kExpired:
        return "expired";
    case Error::Code::kFromFuture:
        return "from-future";
    case Error::Code::kReplayed:
        return "replayed";
    case Error::Code::kUntrusted:
        return "untrusted";
    case Error::Code::kBadId:
        return "bad-id";
    case Error::Code::kIo:
        return "io";
    case Error::Code::kPermissions:
        return "permissions";
    case Error::Code::kExists:
        return "exists";
    case Error::Code::kNotFound:
        return "not-found";
    case Error::Code::kInvalidArgument:
        return "invalid-argument";
    case Error::Code::kRefused:
        return "refused";
    }
    return "unknown";
}

} // namespace swarm::wire

#include "net/error.hpp"

#include <ostream>

namespace swarm::net {

const char* codeName(Error::Code code) noexcept {
    switch (code) {
    case Error::Code::kTimeout:
        return "timeout";
    case Error::Code::kClosed:
        return "closed";
    case Error::Code::kTruncated:
        return "truncated";
    case Error::Code::kRefused:
        return "refused";
    case Error::Code::kTls:
        return "tls";
    case Error::Code::kUntrusted:
        return "untrusted";
    case Error::Code::kTooLarge:
        return "too-large";
    case Error::Code::kProtocol:
        return "protocol";
    case Error::Code::kCorrupt:
        return "corrupt";
    case Error::Code::kNotFound:
        return "not-found";
    case Error::Code::kIo:
        return "io";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, Error::Code code) {
    return out << codeName(code);
}

std::string describe(const Error& error) {
    return std::string(codeName(error.code)) + ": " + error.what;
}

Error fromWire(const wire::Error& error) {
    switch (error.code) {
    case wire::Error::Code::kTooLarge:
        return Error(Error::Code::kTooLarge, error.what);
    case wire::Error::Code::kTruncated:
        return Error(Error::Code::kTruncated, error.what);
    case wire::Error::Code::kUntrusted:
        return Error(Error::Code::kUntrusted, error.what);
    case wire::Error::Code::kIo:
        return Error(Error::Code::kIo, error.what);
    default:
        return Error(Error::Code::kProtocol, error.what);
    }
}

} // namespace swarm::net

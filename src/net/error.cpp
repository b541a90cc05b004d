#include "net/error.hpp"

#include "base/error_kind.hpp"

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

namespace {

class NetCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "net"; }
    std::string message(int code) const override {
        return codeName(static_cast<Error::Code>(code));
    }
    std::error_condition default_error_condition(int code) const noexcept override {
        return make_error_condition(isTransientCode(static_cast<Error::Code>(code))
                                        ? base::ErrorKind::kTransient
                                        : base::ErrorKind::kPermanent);
    }

    static bool isTransientCode(Error::Code code) noexcept {
        switch (code) {
        case Error::Code::kTimeout:
        case Error::Code::kClosed:
        case Error::Code::kTruncated:
        case Error::Code::kRefused:
        case Error::Code::kTls:
        case Error::Code::kIo:
            return true;
        case Error::Code::kUntrusted:
        case Error::Code::kTooLarge:
        case Error::Code::kProtocol:
        case Error::Code::kCorrupt:
        case Error::Code::kNotFound:
            return false;
        }
        return false;
    }
};

} // namespace

const std::error_category& netCategory() noexcept {
    static const NetCategory category;
    return category;
}

std::error_code make_error_code(Error::Code code) noexcept {
    return {static_cast<int>(code), netCategory()};
}

bool isTransient(const Error& error) noexcept {
    return make_error_code(error.code) == base::ErrorKind::kTransient;
}

} // namespace swarm::net

#include "base/error_kind.hpp"

namespace swarm::base {

namespace {

class ErrorKindCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "error-kind"; }
    std::string message(int value) const override {
        switch (static_cast<ErrorKind>(value)) {
        case ErrorKind::kTransient:
            return "transient failure";
        case ErrorKind::kPermanent:
            return "permanent failure";
        }
        return "unknown error kind";
    }
};

class PodmanCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "podman"; }

    std::string message(int value) const override {
        switch (static_cast<PodmanErrc>(value)) {
        case PodmanErrc::kUnreachable:
            return "Podman socket unreachable";
        case PodmanErrc::kTimeout:
            return "Podman timed out";
        case PodmanErrc::kServiceExited:
            return "Podman service exited";
        case PodmanErrc::kServerError:
            return "Podman internal error";
        case PodmanErrc::kImageMissing:
            return "image missing";
        case PodmanErrc::kNotFound:
            return "not found";
        case PodmanErrc::kBadRequest:
            return "bad request";
        case PodmanErrc::kConflict:
            return "conflict";
        case PodmanErrc::kSpecRefused:
            return "spec refused";
        case PodmanErrc::kUnexpectedReply:
            return "unexpected reply";
        case PodmanErrc::kMisconfigured:
            return "Podman misconfigured";
        }
        return "unknown Podman error";
    }

    std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<PodmanErrc>(value)) {
        case PodmanErrc::kUnreachable:
        case PodmanErrc::kTimeout:
        case PodmanErrc::kServiceExited:
        case PodmanErrc::kServerError:
            return ErrorKind::kTransient;
        case PodmanErrc::kImageMissing:
        case PodmanErrc::kNotFound:
        case PodmanErrc::kBadRequest:
        case PodmanErrc::kConflict:
        case PodmanErrc::kSpecRefused:
        case PodmanErrc::kUnexpectedReply:
        case PodmanErrc::kMisconfigured:
            return ErrorKind::kPermanent;
        }
        return std::error_condition(value, *this);
    }
};

bool is(const std::exception& e, ErrorKind kind) noexcept {
    const auto* failure = dynamic_cast<const std::system_error*>(&e);
    return failure != nullptr && failure->code() == kind;
}

} // namespace

// Function-local statics: constant-initialised, no work before main().
const std::error_category& errorKindCategory() noexcept {
    static const ErrorKindCategory category;
    return category;
}

const std::error_category& podmanCategory() noexcept {
    static const PodmanCategory category;
    return category;
}

std::error_condition make_error_condition(ErrorKind kind) noexcept {
    return {static_cast<int>(kind), errorKindCategory()};
}

std::error_code make_error_code(PodmanErrc code) noexcept {
    return {static_cast<int>(code), podmanCategory()};
}

PodmanErrc podmanErrcForStatus(long status) noexcept {
    if (status == 400)
        return PodmanErrc::kBadRequest;
    if (status == 404)
        return PodmanErrc::kNotFound;
    if (status == 409)
        return PodmanErrc::kConflict;
    if (status >= 500 && status <= 599)
        return PodmanErrc::kServerError;
    return PodmanErrc::kUnexpectedReply;
}

bool isTransient(const std::exception& e) noexcept {
    return is(e, ErrorKind::kTransient);
}

bool isPermanent(const std::exception& e) noexcept {
    return is(e, ErrorKind::kPermanent);
}

} // namespace swarm::base

#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace swarm::base {

/// What the top of a loop does with a failure (KJ's "durability"): a
/// transient one may succeed if retried later, a permanent one never will.
/// An std::error_condition: any category may map its codes onto it.
enum class ErrorKind {
    kTransient = 1, ///< retry with backoff
    kPermanent = 2, ///< give up and report
};

/// The category of ErrorKind conditions ("error-kind").
const std::error_category& errorKindCategory() noexcept;
std::error_condition make_error_condition(ErrorKind kind) noexcept;

/// Failures talking to the Podman service. Each maps to an ErrorKind.
enum class PodmanErrc {
    kUnreachable = 1, ///< the socket cannot be reached or the transfer broke (transient)
    kTimeout,         ///< a request or the service's start-up ran out of time (transient)
    kServiceExited,   ///< the service we started exited, e.g. while restarting (transient)
    kServerError,     ///< HTTP 5xx from Podman itself (transient)
    kImageMissing,    ///< the image is not in Podman's store (permanent)
    kNotFound,        ///< HTTP 404 for a container, volume or path (permanent)
    kBadRequest,      ///< HTTP 400: Podman refused what we sent (permanent)
    kConflict,        ///< HTTP 409, e.g. a name in use (permanent)
    kSpecRefused,     ///< a container or volume spec was refused (permanent)
    kUnexpectedReply, ///< an HTTP status or body Podman should not send (permanent)
    kMisconfigured,   ///< our configuration cannot work, e.g. CONTAINER_HOST (permanent)
};

/// The category of PodmanErrc codes ("podman"). Its conditions are
/// ErrorKind: `code == ErrorKind::kTransient` works.
const std::error_category& podmanCategory() noexcept;
std::error_code make_error_code(PodmanErrc code) noexcept;

/// The failure for an HTTP status Podman answered with: 400 kBadRequest,
/// 404 kNotFound, 409 kConflict, 5xx kServerError, else kUnexpectedReply.
PodmanErrc podmanErrcForStatus(long status) noexcept;

/// A std::system_error whose what() is exactly the text given (std's
/// appends ": " and the code's message). Copying never throws.
class Failure : public std::system_error {
public:
    Failure(std::error_code code, const std::string& what)
        : std::system_error(code, what), text_(what) {}
    Failure(PodmanErrc code, const std::string& what) : Failure(make_error_code(code), what) {}
    const char* what() const noexcept override { return text_.what(); }

private:
    std::runtime_error text_; // a reference-counted string: noexcept copies
};

/// True when `e` is a std::system_error whose code is a transient
/// ErrorKind (a Podman restart, an unreachable socket, a timeout). False
/// for every other exception: not known to be worth a retry.
bool isTransient(const std::exception& e) noexcept;
/// True when `e` is a std::system_error whose code is a permanent ErrorKind.
bool isPermanent(const std::exception& e) noexcept;

} // namespace swarm::base

template <> struct std::is_error_condition_enum<swarm::base::ErrorKind> : std::true_type {};
template <> struct std::is_error_code_enum<swarm::base::PodmanErrc> : std::true_type {};

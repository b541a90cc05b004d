#include "base/error_kind.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>

using namespace swarm::base;

BOOST_AUTO_TEST_SUITE(error_kind)

BOOST_AUTO_TEST_CASE(podman_codes_map_to_kinds) {
    for (auto c : {PodmanErrc::kUnreachable, PodmanErrc::kTimeout, PodmanErrc::kServiceExited,
                   PodmanErrc::kServerError}) {
        std::error_code code = c;
        BOOST_TEST((code == ErrorKind::kTransient), code.message());
        BOOST_TEST((code != ErrorKind::kPermanent), code.message());
    }
    for (auto c : {PodmanErrc::kImageMissing, PodmanErrc::kNotFound, PodmanErrc::kBadRequest,
                   PodmanErrc::kConflict, PodmanErrc::kSpecRefused, PodmanErrc::kUnexpectedReply,
                   PodmanErrc::kMisconfigured}) {
        std::error_code code = c;
        BOOST_TEST((code == ErrorKind::kPermanent), code.message());
        BOOST_TEST((code != ErrorKind::kTransient), code.message());
    }
}

BOOST_AUTO_TEST_CASE(names_and_messages) {
    std::error_code code = PodmanErrc::kImageMissing;
    BOOST_TEST(std::string(code.category().name()) == "podman");
    BOOST_TEST(code.message() == "image missing");
    std::error_condition kind = ErrorKind::kTransient;
    BOOST_TEST(std::string(kind.category().name()) == "error-kind");
    BOOST_TEST(kind.message() == "transient failure");
    // Other categories are neither.
    std::error_code io(5, std::generic_category());
    BOOST_TEST((io != ErrorKind::kTransient));
    BOOST_TEST((io != ErrorKind::kPermanent));
}

BOOST_AUTO_TEST_CASE(statuses_map_to_codes) {
    BOOST_TEST((podmanErrcForStatus(400) == PodmanErrc::kBadRequest));
    BOOST_TEST((podmanErrcForStatus(404) == PodmanErrc::kNotFound));
    BOOST_TEST((podmanErrcForStatus(409) == PodmanErrc::kConflict));
    BOOST_TEST((podmanErrcForStatus(500) == PodmanErrc::kServerError));
    BOOST_TEST((podmanErrcForStatus(503) == PodmanErrc::kServerError));
    BOOST_TEST((podmanErrcForStatus(302) == PodmanErrc::kUnexpectedReply));
    BOOST_TEST((podmanErrcForStatus(0) == PodmanErrc::kUnexpectedReply));
}

BOOST_AUTO_TEST_CASE(failure_keeps_its_text_and_is_caught_as_before) {
    const std::string text = "podman: wait: HTTP 500 boom";
    try {
        throw Failure(PodmanErrc::kServerError, text);
    } catch (const std::runtime_error& e) { // where callers caught text before
        BOOST_TEST(std::string(e.what()) == text);
        BOOST_TEST(isTransient(e));
        BOOST_TEST(!isPermanent(e));
    }
    Failure copy(PodmanErrc::kSpecRefused, "refused");
    Failure other = copy;
    BOOST_TEST(std::string(other.what()) == "refused");
    BOOST_TEST((other.code() == PodmanErrc::kSpecRefused));
    BOOST_TEST(isPermanent(other));
}

BOOST_AUTO_TEST_CASE(other_exceptions_are_neither) {
    BOOST_TEST(!isTransient(std::runtime_error("x")));
    BOOST_TEST(!isPermanent(std::runtime_error("x")));
    BOOST_TEST(!isTransient(std::system_error(11, std::generic_category(), "EAGAIN")));
    BOOST_TEST(!isTransient(std::logic_error("bug")));
}

BOOST_AUTO_TEST_SUITE_END()

#include "worker/session_images.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace swarm::worker;
using swarm::wire::Error;

BOOST_AUTO_TEST_SUITE(session_images)

BOOST_AUTO_TEST_CASE(an_image_is_resolved_once_per_session) {
    SessionImages images;
    int calls = 0;
    std::string id = "id-1";
    auto resolver = [&]() -> std::expected<std::string, Error> {
        ++calls;
        return id;
    };
    auto first = images.resolve("localhost/tool:1", resolver);
    BOOST_REQUIRE(first);
    BOOST_TEST(first->id == "id-1");
    BOOST_TEST(first->fresh);
    // The tag moves: the session keeps running the image it started with.
    id = "id-2";
    auto second = images.resolve("localhost/tool:1", resolver);
    BOOST_REQUIRE(second);
    BOOST_TEST(second->id == "id-1");
    BOOST_TEST(!second->fresh);
    BOOST_TEST(calls == 1);
    // Another reference is its own pin.
    auto other = images.resolve("localhost/other:1", resolver);
    BOOST_TEST(other->id == "id-2");
    BOOST_TEST(calls == 2);
    // A new session resolves afresh.
    SessionImages next;
    BOOST_TEST(next.resolve("localhost/tool:1", resolver)->id == "id-2");
}

BOOST_AUTO_TEST_CASE(errors_are_not_pinned) {
    SessionImages images;
    int calls = 0;
    auto failing = [&]() -> std::expected<std::string, Error> {
        ++calls;
        return std::unexpected(Error(Error::Code::kNotFound, "no such image"));
    };
    auto r = images.resolve("localhost/missing:1", failing);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().what == "no such image");
    BOOST_TEST(!images.resolve("localhost/missing:1", failing));
    BOOST_TEST(calls == 2);
    BOOST_TEST(images.size() == 0u);
}

BOOST_AUTO_TEST_CASE(units_waiting_on_a_failed_resolve_share_its_error) {
    // A pull that fails after a while is not repeated by every unit that
    // queued behind it; a unit that asks later tries again.
    SessionImages images;
    std::atomic<int> arrived{0}, calls{0};
    auto slowFailure = [&]() -> std::expected<std::string, Error> {
        ++calls;
        while (arrived.load() < 4)
            std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the others reach the lock
        return std::unexpected(Error(Error::Code::kNotFound, "pull failed"));
    };
    std::vector<std::string> errors(4);
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < errors.size(); ++i)
            threads.emplace_back([&, i] {
                ++arrived;
                auto r = images.resolve("r", slowFailure);
                errors[i] = r ? "" : r.error().what;
            });
    }
    BOOST_TEST(calls.load() == 1);
    for (const auto& e : errors)
        BOOST_TEST(e == "pull failed");
    arrived = 4;
    BOOST_TEST(!images.resolve("r", slowFailure));
    BOOST_TEST(calls.load() == 2);
}

BOOST_AUTO_TEST_CASE(forget_drops_only_the_id_it_names) {
    SessionImages images;
    std::string id = "id-1";
    auto resolver = [&]() -> std::expected<std::string, Error> { return id; };
    BOOST_TEST(images.resolve("r", resolver)->id == "id-1");
    images.forget("r", "id-0"); // a stale forget from a unit that saw an older pin
    BOOST_TEST(images.resolve("r", resolver)->id == "id-1");
    images.forget("r", "id-1");
    id = "id-2";
    auto again = images.resolve("r", resolver);
    BOOST_TEST(again->id == "id-2");
    BOOST_TEST(again->fresh);
}

BOOST_AUTO_TEST_CASE(concurrent_units_agree_on_one_id) {
    SessionImages images;
    std::atomic<int> next{0};
    auto resolver = [&]() -> std::expected<std::string, Error> {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return "id-" + std::to_string(next++);
    };
    std::vector<std::string> seen(8);
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < seen.size(); ++i)
            threads.emplace_back([&, i] { seen[i] = images.resolve("r", resolver)->id; });
    }
    for (const auto& s : seen)
        BOOST_TEST(s == "id-0");
    BOOST_TEST(next == 1); // the others waited for the first answer
    BOOST_TEST(images.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_removed_image_is_resolved_again_once) {
    SessionImages images;
    std::string current = "id-1";
    std::set<std::string> present = {"id-1"};
    std::vector<std::string> ran, pinned;
    auto resolver = [&]() -> std::expected<std::string, Error> { return current; };
    auto isPresent = [&](const std::string& id) { return present.contains(id); };
    auto run = [&](const std::string& id) {
        ran.push_back(id);
        swarm::sandbox::UnitResult r;
        r.started = present.contains(id); // Podman cannot create from a missing image
        return r;
    };
    auto onPin = [&](const std::string& id) { pinned.push_back(id); };
    BOOST_TEST(images.run("r", resolver, isPresent, run, onPin).started);
    BOOST_TEST(images.run("r", resolver, isPresent, run, onPin).started);
    // The volunteer removes the image and tags another: the next unit fails
    // to start on the pinned id, which is then resolved again, once.
    present = {"id-2"};
    current = "id-2";
    BOOST_TEST(images.run("r", resolver, isPresent, run, onPin).started);
    BOOST_TEST(ran == (std::vector<std::string>{"id-1", "id-1", "id-1", "id-2"}));
    BOOST_TEST(pinned == (std::vector<std::string>{"id-1", "id-2"}));
    // A unit that fails to start for another reason is not run twice.
    ran.clear();
    auto failing = [&](const std::string& id) {
        ran.push_back(id);
        return swarm::sandbox::UnitResult{};
    };
    BOOST_TEST(!images.run("r", resolver, isPresent, failing, onPin).started);
    BOOST_TEST(ran.size() == 1u);
    // Nor one whose image was just resolved.
    ran.clear();
    BOOST_TEST(!images
                    .run(
                        "fresh", resolver, [](const std::string&) { return false; }, failing, onPin)
                    .started);
    BOOST_TEST(ran.size() == 1u);
    // An image that cannot be resolved is one clear error.
    auto none = []() -> std::expected<std::string, Error> {
        return std::unexpected(Error(Error::Code::kNotFound, "not local, pulls forbidden"));
    };
    BOOST_CHECK_EXCEPTION(images.run("other", none, isPresent, run, onPin), std::runtime_error,
                          [](const std::runtime_error& e) {
                              return std::string(e.what()) ==
                                     "image not available: not local, pulls forbidden";
                          });
}

BOOST_AUTO_TEST_SUITE_END()

// The unit runner with a fake container runtime and a fake image source:
// no Podman, no sleeps, no ports.

#include "net/blob_store.hpp"
#include "net/blob_transfer.hpp"
#include "sandbox/container_runtime.hpp"
#include "sandbox/freeze_control.hpp"
#include "sandbox/unit_deadline.hpp"
#include "support/temp_dir.hpp"
#include "wire/clock.hpp"
#include "worker/image_source.hpp"
#include "worker/session_images.hpp"
#include "worker/unit_runner.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <functional>
#include <stdexcept>

using namespace swarm;

namespace {

// Writes the files it is told to into the unit's output directory and
// answers with them, as the Podman runtime does.
class FakeRuntime : public sandbox::ContainerRuntime {
public:
    std::function<sandbox::UnitResult(const sandbox::UnitSpec&)> behave;
    std::vector<sandbox::UnitSpec> specs;

    sandbox::UnitResult run(const sandbox::UnitSpec& spec) override {
        specs.push_back(spec);
        return behave(spec);
    }
    std::size_t cleanupLeftovers(std::string_view) override { return 0; }
    sandbox::FreezeMethod freezeMethod() const override {
        return sandbox::FreezeMethod::kCgroupFreezer;
    }
};

class FakeImages : public worker::ImageSource {
public:
    int ensured = 0;
    int loaded = 0;
    std::string lastOwner;
    bool gone = false;

    std::expected<std::string, wire::Error> ensure(const std::string& ref) override {
        ++ensured;
        if (ref == "localhost/missing:1")
            return std::unexpected(wire::Error(wire::Error::Code::kNotFound, "no such image"));
        return "id-" + std::to_string(ensured);
    }
    std::expected<std::string, wire::Error> load(const std::filesystem::path&, const wire::Digest&,
                                                 std::string_view owner) override {
        ++loaded;
        lastOwner = owner;
        return "shipped-id";
    }
    bool present(const std::string&) override { return !gone; }
};

sandbox::UnitResult ranWith(const sandbox::UnitSpec& spec,
                            std::vector<std::pair<std::string, std::string>> files) {
    sandbox::UnitResult r;
    r.started = true;
    r.exitCode = 0;
    r.stdoutText = "hello\n";
    for (auto& [name, content] : files) {
        std::filesystem::create_directories((spec.outputDir / name).parent_path());
        std::ofstream(spec.outputDir / name) << content;
        r.outputs.push_back({name, content.size(), wire::sha256(wire::asBytes(content)), ""});
    }
    r.outputs.push_back({"link", 0, wire::sha256(wire::asBytes(std::string("x"))), "x"});
    return r;
}

struct Rig {
    test::TempDir dir;
    wire::ManualClock clock{1'000'000};
    net::BlobStore blobs{dir.path() / "cache", {}, clock};
    FakeRuntime runtime;
    FakeImages images;
    worker::SessionImages pins;
    worker::UnitRunner runner{{.runtime = runtime,
                               .images = images,
                               .blobs = blobs,
                               .pins = pins,
                               .workerId = "w",
                               .submitterId = "s"}};

    wire::Assign assign(std::vector<std::string> outputs = {}) {
        wire::Assign a;
        a.unitId = "u1";
        a.replica = 2;
        a.image = "localhost/tool:1";
        a.command = {"true"};
        a.outputs = std::move(outputs);
        return a;
    }
    std::filesystem::path outDir() const { return dir.path() / "work" / "unit-1"; }
};

std::vector<std::string> names(const wire::Result& r) {
    std::vector<std::string> out;
    for (const auto& o : r.outputs)
        out.push_back(o.name);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(unit_runner)

BOOST_AUTO_TEST_CASE(a_unit_that_succeeds_returns_its_logs_and_the_outputs_it_asked_for) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec& spec) {
        return ranWith(spec, {{"a", "1"}, {"keep/b", "22"}, {"drop/c", "333"}});
    };
    auto r =
        rig.runner.run(rig.assign({"out/a", "out/keep/"}), sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.unitId == "u1");
    BOOST_TEST(r.replica == 2u);
    BOOST_TEST(names(r) == (std::vector<std::string>{"stdout", "stderr", "out/a", "out/keep/b"}));
    BOOST_TEST(rig.blobs.contains(net::toDigest(r.outputs[2].digest)));
    BOOST_TEST(r.outputs[3].size == 2u);
    // The scratch directory is gone; the container was labelled as asked.
    BOOST_TEST(!std::filesystem::exists(rig.outDir()));
    BOOST_TEST(rig.runtime.specs.at(0).unitId == "u1-r2");
    BOOST_TEST(rig.runtime.specs.at(0).workerId == "w");
    BOOST_TEST(rig.runtime.specs.at(0).image == "id-1");
}

BOOST_AUTO_TEST_CASE(a_unit_given_back_returns_only_its_checkpoint) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec& spec) {
        BOOST_TEST(spec.giveBack.stop_requested());
        auto r = ranWith(spec, {{"count", "11\n"}, {"d/state", "xyz"}});
        r.givenBack = true;
        r.exitCode = 143;
        return r;
    };
    std::stop_source giveBack;
    giveBack.request_stop();
    auto r = rig.runner.run(rig.assign({"out/a"}), sandbox::Limits{}, rig.outDir(), {},
                            giveBack.get_token());
    BOOST_TEST(r.givenBack);
    BOOST_TEST(r.exitCode == -1); // no exit to vote with
    BOOST_TEST(r.error == "");
    // No logs, no symlink: the checkpoint's files, below ckpt/.
    BOOST_TEST(names(r) == (std::vector<std::string>{"ckpt/count", "ckpt/d/state"}));
    BOOST_TEST(rig.blobs.contains(net::toDigest(r.outputs[0].digest)));
    BOOST_TEST(!std::filesystem::exists(rig.outDir()));
    // It passes the judge as it is sent.
    auto raw = wire::decodeMessage(wire::encodeMessage(r));
    BOOST_REQUIRE(raw.has_value());
    BOOST_TEST(wire::bodyAs<wire::Result>(*raw).has_value());
}

BOOST_AUTO_TEST_CASE(a_checkpoint_over_the_cap_is_given_back_without_it) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec&) {
        sandbox::UnitResult r;
        r.started = true;
        r.givenBack = true;
        r.error = "checkpoint refused: outputs over 1048576 bytes";
        return r;
    };
    std::stop_source giveBack;
    giveBack.request_stop();
    auto r =
        rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {}, giveBack.get_token());
    BOOST_TEST(r.givenBack);
    BOOST_TEST(r.outputs.empty());
    BOOST_TEST(r.error == "checkpoint refused: outputs over 1048576 bytes");
}

BOOST_AUTO_TEST_CASE(failures_keep_the_logs_and_drop_the_outputs) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec& spec) {
        auto r = ranWith(spec, {{"a", "1"}});
        r.timedOut = true;
        return r;
    };
    auto r = rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error == "timed out");
    BOOST_TEST(names(r) == (std::vector<std::string>{"stdout", "stderr"}));

    std::stop_source cancel;
    cancel.request_stop();
    r = rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), cancel.get_token());
    BOOST_TEST(r.error == "cancelled by the submitter");

    rig.runtime.behave = [](const sandbox::UnitSpec&) -> sandbox::UnitResult {
        throw std::runtime_error("podman socket gone");
    };
    r = rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error == "sandbox failure: podman socket gone");
    BOOST_TEST(r.outputs.empty());
    BOOST_TEST(!std::filesystem::exists(rig.outDir()));
}

BOOST_AUTO_TEST_CASE(an_image_is_resolved_once_per_session_and_again_when_gone) {
    Rig rig;
    bool failFirst = false;
    rig.runtime.behave = [&](const sandbox::UnitSpec& spec) {
        if (failFirst) {
            failFirst = false;
            return sandbox::UnitResult{.error = "no such image"};
        }
        return ranWith(spec, {});
    };
    rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {});
    rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(rig.images.ensured == 1);
    // The pinned image was removed: the run that did not start is retried
    // with the image resolved again.
    rig.images.gone = true;
    failFirst = true;
    auto r = rig.runner.run(rig.assign(), sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error == "");
    BOOST_TEST(rig.images.ensured == 2);
    BOOST_TEST(rig.runtime.specs.back().image == "id-2");
}

BOOST_AUTO_TEST_CASE(a_shipped_image_is_loaded_as_its_submitters) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec& spec) { return ranWith(spec, {}); };
    auto a = rig.assign();
    a.image.clear();
    a.imageArchive = wire::RawDigest{5};
    auto r = rig.runner.run(a, sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error == "");
    BOOST_TEST(rig.images.loaded == 1);
    BOOST_TEST(rig.images.lastOwner == "s");
    BOOST_TEST(rig.runtime.specs.back().image == "shipped-id");
}

BOOST_AUTO_TEST_CASE(an_image_that_cannot_be_had_is_the_units_error) {
    Rig rig;
    rig.runtime.behave = [](const sandbox::UnitSpec& spec) { return ranWith(spec, {}); };
    auto a = rig.assign();
    a.image = "localhost/missing:1";
    auto r = rig.runner.run(a, sandbox::Limits{}, rig.outDir(), {});
    BOOST_TEST(r.error.find("no such image") != std::string::npos, r.error);
    BOOST_TEST(rig.runtime.specs.empty());
}

// The worker's freeze switch reaches every unit; a runtime that follows it
// (as UnitRun does, with a UnitDeadline) does not time a unit out for the
// time it was frozen. Here the fake steps made-up time: 20 s running, 10 min
// frozen, 30 s running, against a 60 s timeout.
BOOST_AUTO_TEST_CASE(a_unit_frozen_by_the_worker_is_not_timed_out_for_it) {
    using namespace std::chrono_literals;
    Rig rig;
    sandbox::FreezeControl freeze;
    worker::UnitRunner runner{{.runtime = rig.runtime,
                               .images = rig.images,
                               .blobs = rig.blobs,
                               .pins = rig.pins,
                               .workerId = "w",
                               .submitterId = "s",
                               .freeze = &freeze}};
    rig.runtime.behave = [&freeze](const sandbox::UnitSpec& spec) {
        BOOST_TEST(spec.freeze == &freeze);
        const sandbox::UnitDeadline::Clock::time_point t0{};
        sandbox::UnitDeadline deadline(t0, spec.limits.timeout);
        auto now = t0 + 20s;
        freeze.setFrozen(true); // the volunteer suspends
        if (spec.freeze->frozen())
            deadline.freeze(now);
        now += 10min;
        freeze.setFrozen(false);
        deadline.thaw(now);
        now += 30s;
        auto r = ranWith(spec, {});
        r.timedOut = deadline.expired(now);
        r.wallTime = std::chrono::duration_cast<std::chrono::milliseconds>(now - t0);
        r.frozenTime = deadline.frozenFor(now);
        return r;
    };
    sandbox::Limits limits;
    limits.timeout = 60s;
    auto r = runner.run(rig.assign(), limits, rig.outDir(), {});
    BOOST_TEST(r.error == "");
    BOOST_TEST(!r.timedOut);
    BOOST_TEST(r.wallMs == 650'000);
}

BOOST_AUTO_TEST_SUITE_END()

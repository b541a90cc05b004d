// A job's [requirements]: parsed with file:line errors, kept across a
// resume, and matched against workers' capacity records.

#include "submitter/job_spec.hpp"
#include "submitter/requirements.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::test::TempDir;

namespace {

struct JobDir {
    TempDir dir;
    JobDir() { dir.write("a.txt", "alpha\n"); }
    std::expected<JobSpec, swarm::wire::Error> parse(const std::string& requirements) const {
        return parseJobToml("image = \"img\"\ninputs = \"a.txt\"\n" + requirements, "job.toml",
                            dir.path());
    }
};

swarm::wire::CapacityRecord worker(std::string arch, std::vector<std::string> labels) {
    swarm::wire::CapacityRecord r;
    r.arch = std::move(arch);
    r.labels = std::move(labels);
    r.slots = 2;
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(requirements)

BOOST_FIXTURE_TEST_CASE(parsed_and_kept_across_a_resume, JobDir) {
    auto job = parse("[requirements]\narch = [\"x86_64\", \"aarch64\"]\nlabels = [\"gpu\"]\n");
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    const auto& req = job->requirements;
    BOOST_TEST(req.arch == (std::vector<std::string>{"x86_64", "aarch64"}));
    BOOST_TEST(req.labels == std::vector<std::string>{"gpu"});
    auto again = parseJobToml(jobSpecToToml(*job), "snapshot", "/");
    BOOST_REQUIRE_MESSAGE(again, (again ? "" : again.error().what));
    BOOST_TEST((again->requirements == req));
    BOOST_TEST(jobSpecToToml(*again) == jobSpecToToml(*job));
    auto one = parse("[requirements]\narch = \"x86_64\"\n");
    BOOST_REQUIRE(one);
    BOOST_TEST(one->requirements.arch == std::vector<std::string>{"x86_64"});
}

BOOST_FIXTURE_TEST_CASE(bad_requirements_name_the_line, JobDir) {
    const std::pair<const char*, const char*> cases[] = {
        {"[requirements]\narc = \"x86_64\"\n", "job.toml:4"},
        {"[requirements]\nlabels = \"gpu\"\n", "requirements.labels must be an array of strings"},
        {"[requirements]\nmemory_per_slot = \"2G\"\n", "unknown key 'memory_per_slot'"},
        {"[requirements]\narch = [\"\"]\n", "requirements.arch"},
        {"requirements = 3\n", "requirements must be a table"},
    };
    for (const auto& [text, words] : cases) {
        auto job = parse(text);
        BOOST_REQUIRE_MESSAGE(!job, "no error for: " << text);
        BOOST_TEST(job.error().what.find(words) != std::string::npos, job.error().what);
    }
}

BOOST_AUTO_TEST_CASE(a_record_meets_them_or_the_first_unmet_is_named) {
    Requirements req;
    BOOST_TEST(!unmetRequirement(req, worker("", {}))); // none: any worker
    req.arch = {"x86_64", "riscv64"};
    req.labels = {"gpu", "bio"};
    BOOST_TEST(!unmetRequirement(req, worker("x86_64", {"bio", "gpu", "x"})));
    BOOST_TEST(*unmetRequirement(req, worker("aarch64", {"bio", "gpu"})) ==
               "arch aarch64, not x86_64 or riscv64");
    BOOST_TEST(*unmetRequirement(req, worker("", {"bio", "gpu"})) ==
               "arch unknown, not x86_64 or riscv64");
    BOOST_TEST(*unmetRequirement(req, worker("x86_64", {"gpu"})) == "no label 'bio'");
}

BOOST_AUTO_TEST_SUITE_END()

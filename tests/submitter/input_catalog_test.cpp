#include "submitter/input_catalog.hpp"
#include "submitter/scheduler.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::test::TempDir;

BOOST_AUTO_TEST_SUITE(input_catalog)

BOOST_AUTO_TEST_CASE(hashes_inputs_and_builds_assign) {
    TempDir dir;
    dir.write("data/a.txt", "alpha");
    dir.write("data/b.txt", "alpha"); // same content: one blob
    dir.write("img.tar", "image bytes");
    auto job = parseJobToml(R"(image_archive = "img.tar"
command = ["wc", "-c", "{}"]
env = { K = "v" }
outputs = ["out/n"]
timeout = "20s"
inputs = "data/*.txt"
[resources]
cpus = 0.5
memory = "64M"
)",
                            "job.toml", dir.path());
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    InputCatalog catalog(*job);
    const auto alpha = swarm::wire::sha256(swarm::wire::asBytes("alpha"));
    const auto image = swarm::wire::sha256(swarm::wire::asBytes("image bytes"));
    BOOST_TEST(catalog.blobCount() == 2u);
    BOOST_TEST(catalog.totalBytes() == 5u + 11u);
    BOOST_REQUIRE(catalog.pathOf(alpha));
    BOOST_TEST(*catalog.pathOf(image) == dir / "img.tar");
    BOOST_TEST(!catalog.pathOf(swarm::wire::sha256(swarm::wire::asBytes("other"))));
    const auto& refs = catalog.inputsOf("b.txt");
    BOOST_REQUIRE(refs.size() == 1u);
    BOOST_TEST(refs[0].name == "b.txt");
    BOOST_TEST((refs[0].digest == alpha.bytes));
    BOOST_TEST(refs[0].size == 5u);
    BOOST_TEST(catalog.inputsOf("nope").empty());

    const Assignment as{"b.txt", 3, "w1", 12345};
    const auto msg = buildAssign(*job, job->units[1], as, catalog);
    BOOST_TEST(msg.unitId == "b.txt");
    BOOST_TEST(msg.replica == 3u);
    BOOST_TEST(msg.image.empty());
    BOOST_TEST((msg.imageArchive == image.bytes));
    BOOST_TEST(msg.command == (std::vector<std::string>{"wc", "-c", "in/b.txt"}));
    BOOST_TEST(msg.env.at("K") == "v");
    BOOST_TEST(msg.inputs.size() == 1u);
    BOOST_TEST(msg.outputs == std::vector<std::string>{"out/n"});
    BOOST_TEST(msg.timeoutMs == 20'000);
    BOOST_TEST(msg.memoryBytes == 64ull << 20);
    BOOST_TEST(msg.cpus == 0.5);
    BOOST_TEST(msg.leaseExpiresMs == 12345);
}

BOOST_AUTO_TEST_CASE(input_listing_names_what_changed) {
    TempDir dir;
    dir.write("data/a.txt", "alpha");
    dir.write("data/b.txt", "beta");
    auto job = parseJobToml("image = \"x\"\ncommand = [\"cat\", \"{}\"]\n"
                            "inputs = \"data/*.txt\"\n",
                            "job.toml", dir.path());
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    const auto before = inputListing(*job, InputCatalog(*job));
    BOOST_TEST(before.find("a.txt\ta.txt\tsha256:") == 0u);
    BOOST_TEST(!describeInputChange(before, inputListing(*job, InputCatalog(*job))));

    dir.write("data/b.txt", "BETA!");
    const auto after = inputListing(*job, InputCatalog(*job));
    auto change = describeInputChange(before, after);
    BOOST_REQUIRE(change);
    BOOST_TEST_INFO("change: " << *change);
    BOOST_TEST(change->find("input 'b.txt' of unit 'b.txt' changed") != std::string::npos);
    BOOST_TEST(change->find("4 bytes; now sha256:") != std::string::npos);
    BOOST_TEST(change->find("5 bytes") != std::string::npos);

    auto fewer = *job;
    fewer.units.pop_back();
    change = describeInputChange(before, inputListing(fewer, InputCatalog(fewer)));
    BOOST_REQUIRE(change);
    BOOST_TEST(change->find("no longer part of the job") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_file_throws) {
    JobSpec job;
    job.image.reference = "x";
    job.units.push_back({"u", {{"/nonexistent/swarm/file", "f"}}});
    BOOST_CHECK_THROW(InputCatalog{job}, std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()

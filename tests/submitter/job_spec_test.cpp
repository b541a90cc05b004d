#include "submitter/job_spec.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

using namespace swarm::submitter;
using swarm::test::TempDir;

namespace {

struct Files {
    TempDir dir;
    Files() {
        dir.write("data/a.txt", "alpha\n");
        dir.write("data/b.txt", "beta\n");
        dir.write("data/c.txt", "gamma\n");
        dir.write("data/notes.md", "x\n");
        dir.write("img.tar", "not really a tar\n");
    }
    std::expected<JobSpec, swarm::wire::Error> parse(std::string_view text) const {
        return parseJobToml(text, "job.toml", dir.path());
    }
    std::string error(std::string_view text) const {
        auto job = parse(text);
        BOOST_REQUIRE_MESSAGE(!job, "expected an error for:\n" << text);
        BOOST_CHECK(job.error().code == swarm::wire::Error::Code::kInvalidArgument);
        return job.error().what;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(job_spec)

BOOST_FIXTURE_TEST_CASE(full_job_file, Files) {
    auto job = parse(R"(name = "wc"
image = "localhost/swarm-test:1"
command = ["sh", "-c", "wc -w {} > out/count"]
env = { LANG = "C", MODE = "fast" }
timeout = "90s"
deadline = "10m"
replicas = 3
quorum = 2
max_errors = 4
max_total_results = 12
outputs = ["out/count"]
inputs = "data/*.txt"

[resources]
cpus = 1.5
memory = "256M"
pids = 64

[[unit]]
id = "extra-1"
inputs = ["data/notes.md", { path = "data/a.txt", as = "in/a.txt" }]
)");
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    BOOST_TEST(job->name == "wc");
    BOOST_TEST(job->image.reference == "localhost/swarm-test:1");
    BOOST_TEST(!job->image.archive);
    BOOST_TEST(job->command.size() == 3u);
    BOOST_TEST(job->env.at("LANG") == "C");
    BOOST_TEST(job->timeoutMs == 90'000);
    BOOST_TEST(job->policy.leaseMs == 600'000);
    BOOST_TEST(job->policy.replicas == 3u);
    BOOST_TEST(job->policy.quorum == 2u);
    BOOST_TEST(job->policy.maxErrors == 4u);
    BOOST_TEST(job->policy.maxTotalResults == 12u);
    BOOST_TEST(job->resources.cpus == 1.5);
    BOOST_TEST(job->resources.memoryBytes == 256ull << 20);
    BOOST_TEST(job->resources.pids == 64u);
    BOOST_TEST(job->outputs == std::vector<std::string>{"out/count"});
    BOOST_REQUIRE(job->units.size() == 4u);
    BOOST_TEST(job->units[0].id == "a.txt");
    BOOST_TEST(job->units[1].id == "b.txt");
    BOOST_TEST(job->units[2].id == "c.txt");
    BOOST_TEST(job->units[0].inputs[0].name == "a.txt");
    BOOST_TEST(job->units[0].inputs[0].source == dir / "data/a.txt");
    BOOST_TEST(job->units[3].id == "extra-1");
    BOOST_REQUIRE(job->units[3].inputs.size() == 2u);
    BOOST_TEST(job->units[3].inputs[0].name == "notes.md");
    BOOST_TEST(job->units[3].inputs[1].name == "in/a.txt");
    auto cmd = unitCommand(*job, job->units[1]);
    BOOST_TEST(cmd[2] == "wc -w in/b.txt > out/count");
}

BOOST_FIXTURE_TEST_CASE(defaults, Files) {
    auto job = parse("image = \"img\"\ninputs = \"data/a.txt\"\n");
    BOOST_REQUIRE(job);
    BOOST_TEST(job->name == "job");
    BOOST_TEST(job->policy.replicas == 2u);
    BOOST_TEST(job->policy.quorum == 2u);
    BOOST_TEST(job->policy.maxErrors == 3u);
    BOOST_TEST(job->policy.maxTotalResults == 10u);
    BOOST_TEST(job->timeoutMs == 600'000);
    BOOST_TEST(job->policy.leaseMs == 2 * 600'000 + 60'000);
    BOOST_TEST(job->units.size() == 1u);
    // replicas = 1 alone lowers the default quorum with it.
    auto one = parse("image = \"img\"\nreplicas = 1\ninputs = \"data/a.txt\"\n");
    BOOST_REQUIRE(one);
    BOOST_TEST(one->policy.quorum == 1u);
}

BOOST_FIXTURE_TEST_CASE(image_archive, Files) {
    auto job = parse("image_archive = \"img.tar\"\ninputs = \"data/a.txt\"\n");
    BOOST_REQUIRE(job);
    BOOST_TEST(job->image.reference.empty());
    BOOST_TEST(*job->image.archive == dir / "img.tar");
    BOOST_TEST(error("image_archive = \"nope.tar\"\ninputs = \"data/a.txt\"\n") ==
               "job.toml:1: image_archive 'nope.tar' does not exist");
    BOOST_TEST(error("image = \"x\"\nimage_archive = \"img.tar\"\ninputs = \"data/a.txt\"\n") ==
               "job.toml:2: give either image or image_archive, not both");
}

BOOST_FIXTURE_TEST_CASE(missing_image, Files) {
    BOOST_TEST(error("replicas = 2\ninputs = \"data/*.txt\"\n") ==
               "job.toml: missing image: set image = \"REFERENCE\" or image_archive = "
               "\"FILE.tar\"");
    BOOST_TEST(error("image = \"\"\ninputs = \"data/*.txt\"\n") == "job.toml:1: image is empty");
}

BOOST_FIXTURE_TEST_CASE(quorum_and_replicas, Files) {
    BOOST_TEST(error("image = \"i\"\ninputs = \"data/*.txt\"\n\n\n\n\nquorum = 3\n") ==
               "job.toml:7: quorum (3) is larger than replicas (2)");
    BOOST_TEST(error("image = \"i\"\nreplicas = 2\nquorum = 0\ninputs = \"data/*.txt\"\n") ==
               "job.toml:3: quorum (0) must be at least 1");
    BOOST_TEST(error("image = \"i\"\nreplicas = 0\ninputs = \"data/*.txt\"\n") ==
               "job.toml:2: replicas (0) must be at least 1");
    BOOST_TEST(error("image = \"i\"\nreplicas = \"two\"\ninputs = \"data/*.txt\"\n") ==
               "job.toml:2: replicas must be an integer");
    BOOST_TEST(error("image = \"i\"\nreplicas = 4\nmax_total_results = 3\ninputs = "
                     "\"data/*.txt\"\n") == "job.toml:3: max_total_results (3) is smaller than "
                                            "replicas (4)");
}

BOOST_FIXTURE_TEST_CASE(unknown_keys, Files) {
    BOOST_TEST(error("image = \"i\"\nreplcias = 3\ninputs = \"data/*.txt\"\n") ==
               "job.toml:2: unknown key 'replcias' (did you mean 'replicas'?)");
    BOOST_TEST(error("image = \"i\"\ninputs = \"data/*.txt\"\n[resources]\ncpus = 1\nmemroy = "
                     "\"1G\"\n") ==
               "job.toml:5: unknown key 'memroy' in [resources] (did you mean 'memory'?)");
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"u1\"\ninput = [\"data/a.txt\"]\n") ==
               "job.toml:4: unknown key 'input' in [[unit]] (did you mean 'inputs'?)");
    BOOST_TEST(error("image = \"i\"\ninputs = \"data/*.txt\"\nfrobnicate = true\n") ==
               "job.toml:3: unknown key 'frobnicate'");
}

BOOST_FIXTURE_TEST_CASE(globs, Files) {
    BOOST_TEST(error("image = \"i\"\n\ninputs = \"data/*.csv\"\n") ==
               "job.toml:3: inputs: 'data/*.csv' matches no files");
    BOOST_TEST(error("image = \"i\"\ninputs = \"data/[ab.txt\"\n") ==
               "job.toml:2: inputs: bad glob 'data/[ab.txt': unclosed '['");
    BOOST_TEST(error("image = \"i\"\ninputs = \"data/**/*.txt\"\n") ==
               "job.toml:2: inputs: bad glob 'data/**/*.txt': '**' is not supported");
    BOOST_TEST(error("image = \"i\"\ninputs = \"\"\n") == "job.toml:2: inputs: empty glob");
    BOOST_TEST(error("image = \"i\"\ninputs = 3\n") ==
               "job.toml:2: inputs must be a glob string or an array of them");
    // Several patterns; a directory matched by a glob is not a unit.
    dir.write("data/sub/d.txt", "delta\n");
    auto job = parse("image = \"i\"\ninputs = [\"data/[ab].txt\", \"data/*\"]\n");
    BOOST_REQUIRE(!job); // a.txt and b.txt twice
    BOOST_TEST(job.error().what ==
               "job.toml:2: duplicate unit id 'a.txt' (first defined on line 2)");
    auto ok = parse("image = \"i\"\ninputs = [\"data/*.md\", \"data/sub/*\"]\n");
    BOOST_REQUIRE(ok);
    BOOST_TEST(ok->units.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(units, Files) {
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"u1\"\n[[unit]]\nid = \"u1\"\n") ==
               "job.toml:5: duplicate unit id 'u1' (first defined on line 3)");
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"../etc\"\n")
                   .starts_with("job.toml:3: unit id '../etc' is not safe as a directory name"));
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"a/b\"\n")
                   .starts_with("job.toml:3: unit id 'a/b' is not safe"));
    BOOST_TEST(error("image = \"i\"\n[[unit]]\ninputs = []\n") ==
               "job.toml:2: [[unit]] needs an id");
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"u\"\ninputs = [\"data/zzz.txt\"]\n") ==
               "job.toml:4: input 'data/zzz.txt' does not exist or is not a regular file");
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"u\"\ninputs = [\"data/a.txt\", "
                     "\"data/a.txt\"]\n") == "job.toml:4: unit 'u' has two inputs named 'a.txt'");
    BOOST_TEST(error("image = \"i\"\n[[unit]]\nid = \"u\"\ninputs = [{ path = \"data/a.txt\", "
                     "as = \"../x\" }]\n")
                   .starts_with("job.toml:4: input name '../x':"));
    BOOST_TEST(error("image = \"i\"\n") ==
               "job.toml: no units: set inputs = \"data/*.txt\" (one unit per file) or add "
               "[[unit]] entries");
    BOOST_TEST(error("image = \"i\"\ncommand = [\"cat\", \"{}\"]\n[[unit]]\nid = \"u\"\n") ==
               "job.toml:4: command uses {} but unit 'u' has no inputs");
}

BOOST_FIXTURE_TEST_CASE(values, Files) {
    const std::string base = "image = \"i\"\ninputs = \"data/a.txt\"\n";
    BOOST_TEST(error(base + "timeout = \"soon\"\n") ==
               "job.toml:3: timeout ('soon') is not a duration (e.g. \"90s\", \"5m\", \"2h\")");
    BOOST_TEST(error(base + "timeout = -5\n") ==
               "job.toml:3: timeout (-5) must be a positive number of seconds");
    BOOST_TEST(error(base + "timeout = \"5m\"\ndeadline = \"1m\"\n") ==
               "job.toml:4: deadline (60s) must be longer than timeout (300s): it also covers "
               "moving inputs and outputs");
    BOOST_TEST(error(base + "command = \"echo hi\"\n") ==
               "job.toml:3: command must be an array of strings");
    BOOST_TEST(error(base + "env = { \"1X\" = \"a\" }\n") ==
               "job.toml:3: env: '1X' is not a valid variable name");
    BOOST_TEST(error(base + "[resources]\nmemory = \"lots\"\n") ==
               "job.toml:4: resources.memory must be a size of at least 1M (e.g. \"512M\", "
               "\"1G\")");
    BOOST_TEST(error(base + "outputs = [\"/etc/passwd\"]\n") ==
               "job.toml:3: outputs: '/etc/passwd': file name '/etc/passwd' is absolute");
    BOOST_TEST(error(base + "outputs = [\"out/../../x\"]\n") ==
               "job.toml:3: outputs: 'out/../../x': file name 'out/../../x' has a '..' component");
    BOOST_TEST(error(base + "outputs = [\"stdout\"]\n") ==
               "job.toml:3: outputs: 'stdout' is always collected; remove it");
    BOOST_TEST(error(base + "outputs = [\"out/a\", \"result.txt\"]\n") ==
               "job.toml:3: outputs: 'result.txt' is not below out/, the only directory "
               "collected from the container");
    BOOST_TEST(error(base + "outputs = [\"outside/x\"]\n")
                   .starts_with("job.toml:3: outputs: 'outside/x' is not below out/"));
    BOOST_TEST(parse(base + "outputs = [\"out\", \"out/x/y\"]\n").has_value());
    BOOST_TEST(error(base + "replicas = 2\nreplicas = 3\n").starts_with("job.toml:4: "));
}

BOOST_FIXTURE_TEST_CASE(toml_syntax_error_has_line, Files) {
    const auto what = error("image = \"i\"\ninputs = \"data/a.txt\"\nreplicas = = 2\n");
    BOOST_TEST(what.starts_with("job.toml:3: "), what);
}

BOOST_FIXTURE_TEST_CASE(load_file, Files) {
    const auto path = dir.write("jobs/job.toml", "image = \"i\"\ninputs = \"../data/*.txt\"\n");
    auto job = loadJobFile(path);
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    BOOST_TEST(job->units.size() == 3u);
    auto missing = loadJobFile(dir / "jobs/nope.toml");
    BOOST_REQUIRE(!missing);
    BOOST_TEST((missing.error().code == swarm::wire::Error::Code::kIo));
}

BOOST_FIXTURE_TEST_CASE(toml_round_trip, Files) {
    auto job = parse(R"(image = "i"
command = ["wc", "-l", "{}"]
env = { A = "1" }
outputs = ["out/r"]
inputs = "data/*.txt"
timeout = "45s"
[resources]
memory = "1G"
)");
    BOOST_REQUIRE(job);
    auto again = parseJobToml(jobSpecToToml(*job), "snapshot", "/");
    BOOST_REQUIRE_MESSAGE(again, (again ? "" : again.error().what));
    // A fixed point: resuming compares the stored text with the re-parsed job's.
    BOOST_TEST(jobSpecToToml(*again) == jobSpecToToml(*job));
    BOOST_TEST(again->command == job->command);
    BOOST_TEST(again->env == job->env);
    BOOST_TEST(again->outputs == job->outputs);
    BOOST_TEST(again->timeoutMs == job->timeoutMs);
    BOOST_TEST(again->policy.leaseMs == job->policy.leaseMs);
    BOOST_TEST(again->policy.maxTotalResults == job->policy.maxTotalResults);
    BOOST_TEST(again->resources.memoryBytes == job->resources.memoryBytes);
    BOOST_REQUIRE(again->units.size() == job->units.size());
    for (std::size_t i = 0; i < job->units.size(); ++i) {
        BOOST_TEST(again->units[i].id == job->units[i].id);
        BOOST_TEST(again->units[i].inputs[0].name == job->units[i].inputs[0].name);
        BOOST_TEST(again->units[i].inputs[0].source == job->units[i].inputs[0].source);
    }
}

BOOST_FIXTURE_TEST_CASE(one_liner, Files) {
    OneLineJob args;
    args.image = "localhost/swarm-test:1";
    args.replicas = 3;
    args.quorum = 2;
    args.timeout = "30s";
    args.command = {"sh", "-c", "tr a-z A-Z < {} > out/up"};
    args.files = {dir / "data/a.txt", dir / "data/b.txt"};
    auto job = oneLineJob(args);
    BOOST_REQUIRE_MESSAGE(job, (job ? "" : job.error().what));
    BOOST_TEST(job->policy.replicas == 3u);
    BOOST_TEST(job->policy.quorum == 2u);
    BOOST_TEST(job->timeoutMs == 30'000);
    BOOST_REQUIRE(job->units.size() == 2u);
    BOOST_TEST(job->units[1].id == "b.txt");
    BOOST_TEST(job->units[1].inputs[0].name == "b.txt");
    BOOST_TEST(unitCommand(*job, job->units[1])[2] == "tr a-z A-Z < in/b.txt > out/up");
    BOOST_TEST(job->command[2] == "tr a-z A-Z < {} > out/up"); // template unchanged

    auto bad = args;
    bad.quorum = 4;
    BOOST_TEST(oneLineJob(bad).error().what == "--quorum (4) is larger than --replicas (3)");
    bad = args;
    bad.image.clear();
    BOOST_TEST(oneLineJob(bad).error().what == "missing --image");
    bad = args;
    bad.files.push_back(dir / "data/missing.txt");
    BOOST_TEST(oneLineJob(bad).error().what == "input '" + (dir / "data/missing.txt").string() +
                                                   "' does not exist or is not a regular file");
    bad = args;
    bad.files.push_back(dir / "data/a.txt");
    BOOST_TEST(oneLineJob(bad).error().what.find("give the same unit id 'a.txt'") !=
               std::string::npos);
    bad = args;
    bad.timeout = "forever";
    BOOST_TEST(oneLineJob(bad).error().what ==
               "--timeout 'forever' is not a duration (e.g. 90s, 5m)");
    bad = args;
    bad.files.clear();
    BOOST_TEST(oneLineJob(bad).error().what == "no input files: list them after :::");
    // A file name with spaces becomes a safe id and name.
    const auto spaced = dir.write("data/my file.txt", "x");
    bad = args;
    bad.files = {spaced};
    auto sj = oneLineJob(bad);
    BOOST_REQUIRE(sj);
    BOOST_TEST(sj->units[0].id == "my_file.txt");
}

BOOST_AUTO_TEST_CASE(sizes_and_durations) {
    BOOST_TEST(*parseSize("512M") == 512ull << 20);
    BOOST_TEST(*parseSize("1G") == 1ull << 30);
    BOOST_TEST(*parseSize("1GiB") == 1ull << 30);
    BOOST_TEST(*parseSize("64k") == 64ull << 10);
    BOOST_TEST(*parseSize("100") == 100u);
    BOOST_TEST(!parseSize("12X"));
    BOOST_TEST(!parseSize("M"));
    BOOST_TEST(!parseSize("99999999999999999999G"));
    BOOST_TEST(*parseDurationMs("500ms") == 500);
    BOOST_TEST(*parseDurationMs("30s") == 30'000);
    BOOST_TEST(*parseDurationMs("30") == 30'000);
    BOOST_TEST(*parseDurationMs("5m") == 300'000);
    BOOST_TEST(*parseDurationMs("2h") == 7'200'000);
    BOOST_TEST(!parseDurationMs("0s"));
    BOOST_TEST(!parseDurationMs("-1s"));
    BOOST_TEST(!parseDurationMs("1d"));
    BOOST_TEST(isSafeUnitId("a.txt"));
    BOOST_TEST(isSafeUnitId("Unit_01-x"));
    BOOST_TEST(!isSafeUnitId(""));
    BOOST_TEST(!isSafeUnitId(".hidden"));
    BOOST_TEST(!isSafeUnitId(".."));
    BOOST_TEST(!isSafeUnitId("-rf"));
    BOOST_TEST(!isSafeUnitId("a b"));
    BOOST_TEST(!isSafeUnitId(std::string(129, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

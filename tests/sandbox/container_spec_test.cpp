#include "sandbox/container_spec.hpp"
#include "sandbox/cpu_cap.hpp"
#include "sandbox/podman_service.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <json/json.h>

#include <fstream>
#include <set>

using namespace swarm;
using namespace swarm::sandbox;

namespace {

Json::Value parse(const std::string& s) {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    BOOST_REQUIRE(r->parse(s.data(), s.data() + s.size(), &v, &errs));
    return v;
}

UnitSpec sampleSpec(const std::filesystem::path& out) {
    UnitSpec s;
    s.unitId = "job1/unit 7";
    s.workerId = "sw1abc";
    s.image = "localhost/swarm-test:latest";
    s.command = {"/bin/sh", "-c", "true"};
    s.outputDir = out;
    s.limits.memoryBytes = 128 << 20;
    s.limits.cpuMillis = 500;
    s.limits.pids = 32;
    s.limits.scratchBytes = 8 << 20;
    return s;
}

std::map<std::string, std::uint64_t> rlimits(const Json::Value& body) {
    std::map<std::string, std::uint64_t> m;
    for (const auto& r : body["r_limits"])
        m[r["type"].asString()] = r["hard"].asUInt64();
    return m;
}

} // namespace

BOOST_AUTO_TEST_SUITE(container_spec)

BOOST_AUTO_TEST_CASE(names_are_sanitised) {
    auto n = containerNames("job1/unit 7;rm -rf", "abcd");
    BOOST_TEST(n.container == "swarm-job1_unit_7_rm_-rf-abcd");
    BOOST_TEST(n.volume == n.container + "-work");
    BOOST_TEST(containerNames(std::string(100, 'x'), "s").container.size() == 48u);
}

BOOST_AUTO_TEST_CASE(rootful_body_has_every_protection) {
    test::TempDir out;
    auto spec = sampleSpec(out.path());
    HostProfile host;
    host.seccompProfile = "/usr/share/swarm/seccomp.json";
    auto names = containerNames(spec.unitId, "0001");
    auto b = parse(buildCreateBody(spec, host, names));
    BOOST_TEST(b["netns"]["nsmode"].asString() == "none");
    BOOST_TEST(b["userns"]["nsmode"].asString() == "auto");
    BOOST_TEST(b["read_only_filesystem"].asBool());
    BOOST_TEST(b["cap_drop"][0].asString() == "ALL");
    BOOST_TEST(b["no_new_privileges"].asBool());
    BOOST_TEST(b["seccomp_profile_path"].asString() == "/usr/share/swarm/seccomp.json");
    BOOST_TEST(b["user"].asString() == "65534:65534");
    BOOST_TEST(b["labels"]["swarm"].asString() == "1");
    BOOST_TEST(b["labels"]["swarm.unit"].asString() == "job1/unit 7");
    BOOST_TEST(b["labels"]["swarm.worker"].asString() == "sw1abc");
    BOOST_TEST(b["resource_limits"]["memory"]["limit"].asInt64() == 128 << 20);
    BOOST_TEST(b["resource_limits"]["memory"]["swap"].asInt64() == 128 << 20);
    BOOST_TEST(b["resource_limits"]["pids"]["limit"].asInt64() == 32);
    BOOST_TEST(b["resource_limits"]["cpu"]["quota"].asInt64() == 50000);
    BOOST_TEST(b["resource_limits"]["cpu"]["period"].asUInt64() == 100000u);
    BOOST_TEST(b["volumes"][0]["Name"].asString() == names.volume);
    BOOST_TEST(b["volumes"][0]["Dest"].asString() == "/work");
    BOOST_TEST(b["mounts"][0]["destination"].asString() == "/tmp");
    bool sized = false;
    for (const auto& o : b["mounts"][0]["options"])
        sized = sized || o.asString() == "size=" + std::to_string(8 << 20);
    BOOST_TEST(sized);
    // /dev/shm: the container's own tmpfs, no host mount (ipcns none).
    BOOST_TEST(b["ipcns"]["nsmode"].asString() == "none");
    BOOST_TEST(!b.isMember("shm_size"));
    BOOST_TEST(b["mounts"][1]["destination"].asString() == "/dev/shm");
    BOOST_TEST(b["mounts"][1]["type"].asString() == "tmpfs");
    std::set<std::string> shmOptions;
    for (const auto& o : b["mounts"][1]["options"])
        shmOptions.insert(o.asString());
    BOOST_TEST(shmOptions.count("noexec") == 1u);
    BOOST_TEST(shmOptions.count("nosuid") == 1u);
    BOOST_TEST(shmOptions.count("size=" + std::to_string(8 << 20)) == 1u); // min(scratch, 16 MiB)
    BOOST_TEST(!b.isMember("privileged"));
    auto r = rlimits(b);
    BOOST_TEST(r["nproc"] == 32u);
    BOOST_TEST(r["nofile"] == 1024u);
    BOOST_TEST(r.count("fsize") == 1u);
    BOOST_TEST(r.count("data") == 0u); // memory enforced by the cgroup
    BOOST_TEST(b["env"]["SWARM_OUT"].asString() == "/work/out");
}

BOOST_AUTO_TEST_CASE(rootless_cgroup_v1_falls_back_to_rlimits) {
    test::TempDir out;
    auto spec = sampleSpec(out.path());
    HostProfile host;
    host.rootless = true;
    host.cgroupLimits = false;
    host.usernsAuto = false;
    host.memoryEnforced = false;
    host.pidsEnforced = false;
    host.cpuEnforced = false;
    auto b = parse(buildCreateBody(spec, host, containerNames("u", "1")));
    BOOST_TEST(!b.isMember("resource_limits"));
    BOOST_TEST(!b.isMember("userns")); // rootless is already a user namespace
    auto r = rlimits(b);
    BOOST_TEST(r["data"] == std::uint64_t(128 << 20));
    spec.limits.memoryBytes = 1ull << 30;
    BOOST_TEST(rlimits(parse(buildCreateBody(spec, host, containerNames("u", "1"))))["data"] ==
               (1ull << 30));
    spec.limits.memoryBytes = 16ull << 20; // below what runc needs: raised to the floor
    BOOST_TEST(rlimits(parse(buildCreateBody(spec, host, containerNames("u", "1"))))["data"] ==
               kMinDataLimit);
    BOOST_TEST(r["nproc"] == 32u);
    BOOST_TEST(r.count("cpu") == 1u);
    BOOST_TEST(b["read_only_filesystem"].asBool());
    BOOST_TEST(b["netns"]["nsmode"].asString() == "none");
}

BOOST_AUTO_TEST_CASE(units_go_under_the_cpu_cap_parent) {
    test::TempDir out;
    auto spec = sampleSpec(out.path());
    HostProfile host;
    BOOST_TEST(
        !parse(buildCreateBody(spec, host, containerNames("u", "1"))).isMember("cgroup_parent"));
    host.cgroupParent = "/swarm-abc";
    auto b = parse(buildCreateBody(spec, host, containerNames("u", "1")));
    BOOST_TEST(b["cgroup_parent"].asString() == "/swarm-abc");
    // Rootless on cgroup v1 Podman would refuse or drop it: left out.
    host.cgroupLimits = false;
    BOOST_TEST(
        !parse(buildCreateBody(spec, host, containerNames("u", "1"))).isMember("cgroup_parent"));
}

BOOST_AUTO_TEST_CASE(cpu_cap_sets_the_quota_in_a_cgroup_tree) {
    test::TempDir root;
    // A cgroup v1 layout as files: the cpu hierarchy with its quota file.
    std::filesystem::create_directories(root.path() / "cpu");
    std::ofstream(root.path() / "cpu" / "cpu.cfs_quota_us") << "-1";
    auto cap = CpuCap::create(root.path(), "swarm-test", cappedCores(25, 2));
    BOOST_REQUIRE(cap.has_value());
    BOOST_TEST(cap->parent() == "/swarm-test");
    BOOST_TEST(cap->quotaUs() == 50000);
    std::string quota;
    std::ifstream(root.path() / "cpu" / "swarm-test" / "cpu.cfs_quota_us") >> quota;
    BOOST_TEST(quota == "50000");
    std::string period;
    std::ifstream(root.path() / "cpu" / "swarm-test" / "cpu.cfs_period_us") >> period;
    BOOST_TEST(period == "100000");
    BOOST_TEST(!CpuCap::create(root.path(), "a/b", 1.0).has_value());
    test::TempDir empty;
    auto none = CpuCap::create(empty.path(), "swarm-test", 1.0);
    BOOST_REQUIRE(!none.has_value());
    BOOST_TEST(none.error().find("no cgroup cpu controller") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(validation) {
    test::TempDir out;
    auto spec = sampleSpec(out.path());
    BOOST_TEST(validateSpec(spec).has_value());
    auto bad = spec;
    bad.user = "0:0";
    BOOST_TEST(!validateSpec(bad).has_value());
    bad = spec;
    bad.user = "nobody";
    BOOST_TEST(!validateSpec(bad).has_value());
    bad = spec;
    bad.command.clear();
    BOOST_TEST(!validateSpec(bad).has_value());
    bad = spec;
    bad.inputs.push_back({"../escape", "/etc/passwd"});
    BOOST_TEST(!validateSpec(bad).has_value());
    bad = spec;
    bad.outputDir = out.path() / "missing";
    BOOST_TEST(!validateSpec(bad).has_value());
    bad = spec;
    bad.limits.pids = 0;
    BOOST_TEST(!validateSpec(bad).has_value());
    auto [uid, gid] = parseUser("1000:1001");
    BOOST_TEST(uid == 1000u);
    BOOST_TEST(gid == 1001u);
}

BOOST_AUTO_TEST_CASE(volume_body_is_labelled) {
    test::TempDir out;
    auto spec = sampleSpec(out.path());
    auto names = containerNames(spec.unitId, "x");
    auto v = parse(buildVolumeBody(spec, names));
    BOOST_TEST(v["Name"].asString() == names.volume);
    BOOST_TEST(v["Label"]["swarm.worker"].asString() == "sw1abc");
}

BOOST_AUTO_TEST_CASE(containers_conf_lookup_order) {
    test::TempDir dir;
    auto tree = dir.path() / "tree";
    std::filesystem::create_directories(tree / "packaging");
    std::ofstream(tree / "packaging" / "containers.conf") << "[engine]\n";
    auto explicitFile = dir.path() / "explicit.conf";
    std::ofstream(explicitFile) << "[engine]\n";
    std::optional<std::string> envValue;
    wire::EnvLookup lookup = [&](const char* name) -> std::optional<std::string> {
        return std::string(name) == "SWARM_CONTAINERS_CONF" ? envValue : std::nullopt;
    };
    BOOST_TEST(findContainersConf(explicitFile, lookup, tree).value() == explicitFile);
    BOOST_TEST(!findContainersConf(dir.path() / "missing", lookup, tree).has_value());
    envValue = "/etc/swarm/from-env.conf";
    BOOST_TEST(findContainersConf(std::nullopt, lookup, tree).value() == *envValue);
    envValue.reset();
    if (!std::filesystem::exists("/usr/local/share/swarm/containers.conf") &&
        !std::filesystem::exists("/usr/share/swarm/containers.conf"))
        BOOST_TEST(findContainersConf(std::nullopt, lookup, tree).value() ==
                   tree / "packaging" / "containers.conf");
}

BOOST_AUTO_TEST_SUITE_END()

#include "netlab/lab_fixture.hpp"

#include "support/child_process.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace swarm::netlab {

using namespace std::chrono_literals;
using test::runProgram;

std::string labScript() {
    const char* s = std::getenv("SWARM_SOURCE_ROOT");
    if (s == nullptr)
        throw std::runtime_error("SWARM_SOURCE_ROOT is not set (run through meson test)");
    return std::string(s) + "/tests/netlab/lab";
}

std::string labMissing() {
    std::string missing;
    if (::geteuid() != 0)
        missing += " root";
    if (runProgram("/usr/bin/ip", {"netns", "list"}, 10s).status != 0)
        missing += " ip-netns";
    if (runProgram("/usr/sbin/nft", {"--version"}, 10s).status != 0)
        missing += " nft";
    return missing;
}

boost::test_tools::assertion_result labUsable(boost::unit_test::test_unit_id) {
    auto missing = labMissing();
    if (missing.empty() || std::getenv("CI") != nullptr)
        return true;
    boost::test_tools::assertion_result r(false);
    r.message() << "a network lab needs:" << missing;
    return r;
}

void removeStaleLabs(const std::string& prefix) {
    const std::regex stale("^swl-(" + prefix + "([0-9]+)[a-z]*)-");
    std::istringstream in(runProgram("/usr/bin/ip", {"netns", "list"}, 10s).out);
    std::set<std::string> labs;
    std::smatch m;
    for (std::string line; std::getline(in, line);)
        if (std::regex_search(line, m, stale) && ::kill(std::stoi(m[2]), 0) != 0 && errno == ESRCH)
            labs.insert(m[1]);
    for (const auto& name : labs) {
        BOOST_TEST_MESSAGE("removing lab " << name << " of an earlier run");
        runProgram(labScript(), {"down", name}, 60s);
    }
}

Lab::Lab(std::string name, std::vector<std::string> homes) : name_(std::move(name)) {
    homes.insert(homes.begin(), {"up", name_});
    auto r = runProgram(labScript(), homes, 60s);
    if (r.status != 0) {
        down();
        throw std::runtime_error("lab up " + name_ + " failed: " + r.out + r.err);
    }
}

Lab::~Lab() {
    down();
}

std::string Lab::addr(const std::string& host) const {
    auto r = runProgram(labScript(), {"addr", name_, host}, 30s);
    auto a = r.out.substr(0, r.out.find('\n'));
    if (r.status != 0 || a.empty())
        throw std::runtime_error("lab addr " + name_ + " " + host + ": " + r.err);
    return a;
}

void Lab::link(const std::string& home, bool up) const {
    auto r = runProgram(labScript(), {"link", name_, home, up ? "up" : "down"}, 30s);
    if (r.status != 0)
        throw std::runtime_error("lab link " + name_ + " " + home + ": " + r.err);
}

void Lab::down() {
    auto r = runProgram(labScript(), {"down", name_}, 60s);
    if (r.status != 0)
        BOOST_TEST_MESSAGE("lab down " << name_ << ": " << r.err);
}

void Lab::shape(const std::string& home, int mbit) const {
    auto r = runProgram(labScript(), {"shape", name_, home, std::to_string(mbit)}, 30s);
    if (r.status != 0)
        throw std::runtime_error("lab shape " + name_ + " " + home + ": " + r.err);
}

std::unique_ptr<test::ChildProcess> Lab::start(const std::string& host, const std::string& program,
                                               std::vector<std::string> args) const {
    test::ChildOptions o;
    o.in = test::Stream::pipe();
    o.out = test::Stream::pipe();
    args.insert(args.begin(), {"netns", "exec", ns(host), program});
    return std::make_unique<test::ChildProcess>("/usr/bin/ip", args, std::move(o));
}

} // namespace swarm::netlab

#pragma once

// What the network lab's C++ tests share: a lab (tests/netlab/lab) built by a
// constructor and removed by a destructor, and whether one can be built here.

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

namespace swarm::test {
class ChildProcess;
}

namespace swarm::netlab {

/// The lab script in the source tree. Throws std::runtime_error when
/// SWARM_SOURCE_ROOT is not set (run the tests through meson test).
std::string labScript();

/// What a lab needs and this machine lacks (" root ip-netns nft"), "" when
/// nothing is missing.
std::string labMissing();

/// A Boost.Test precondition: true when a lab can be built, and also when
/// CI is set (the case then fails, naming what is missing); otherwise the
/// case is skipped with that message. A case must still check labMissing().
boost::test_tools::assertion_result labUsable(boost::unit_test::test_unit_id);

/// Removes labs named `prefix`<pid>[a-z]* whose process no longer runs (an
/// earlier run killed by a timeout before its destructors ran).
void removeStaleLabs(const std::string& prefix);

/// `lab up` on construction, `lab down` on destruction (which ends every
/// process still in the lab's namespaces and removes them). Blocks; every
/// call of the script is bounded by a timeout. One thread owns it.
class Lab {
public:
    /// Throws std::runtime_error (after removing what was built) when
    /// `lab up NAME HOMES...` fails.
    Lab(std::string name, std::vector<std::string> homes);
    ~Lab();
    Lab(const Lab&) = delete;
    Lab& operator=(const Lab&) = delete;

    const std::string& name() const { return name_; }
    /// The namespace of a host ("pub", "h1-1", "h1-gw", ...).
    std::string ns(const std::string& host) const { return "swl-" + name_ + "-" + host; }
    /// A host's IPv4 address (a router's: its WAN address), from `lab addr`.
    /// Throws std::runtime_error when the lab has no such host.
    std::string addr(const std::string& host) const;
    /// Takes a home's uplink down (false) or back up (true): `lab link`.
    /// Throws std::runtime_error when the script fails.
    void link(const std::string& home, bool up) const;
    /// Limits a home's uplink and downlink to `mbit` Mbit/s each (0: no
    /// limit): `lab shape`. Throws std::runtime_error when the script fails.
    void shape(const std::string& home, int mbit) const;
    /// Starts `program args` in `host`'s namespace, with its stdin and
    /// stdout piped to us (test::Stream::pipe()).
    std::unique_ptr<test::ChildProcess> start(const std::string& host, const std::string& program,
                                              std::vector<std::string> args) const;

private:
    void down();

    std::string name_;
};

} // namespace swarm::netlab

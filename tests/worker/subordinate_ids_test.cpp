#include "worker/subordinate_ids.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace swarm::worker;
using swarm::test::readFile;

BOOST_AUTO_TEST_SUITE(subordinate_ids)

BOOST_AUTO_TEST_CASE(a_free_start_overlaps_no_range) {
    BOOST_TEST(freeSubordinateStart("", 700, 100) == 700u);
    BOOST_TEST(freeSubordinateStart("alice:100000:65536\n", 700, 100) == 700u);
    // Overlapping ranges push it on, in any order; touching is fine.
    const std::string file = "b:800:50\n# a comment\na:650:100\nbroken line\nc:x:1\nd:600:100\n";
    BOOST_TEST(freeSubordinateStart(file, 700, 100) == 850u);
    BOOST_TEST(freeSubordinateStart("a:750:100\n", 700, 100) == 850u);
    BOOST_TEST(freeSubordinateStart("a:800:100\n", 700, 100) == 700u); // touching
    BOOST_TEST(freeSubordinateStart("a:600:100\n", 700, 100) == 700u);
    BOOST_TEST(hasSubordinateRange(file, "a"));
    BOOST_TEST(!hasSubordinateRange(file, "c")); // no number: not a range
    BOOST_TEST(!hasSubordinateRange(file, "containers"));
}

BOOST_AUTO_TEST_CASE(the_containers_range_is_added_once) {
    swarm::test::TempDir dir;
    const auto path = dir / "subuid";
    std::ofstream(path) << "swarm:650000000:65536\nbob:700000000:65536"; // no newline at the end
    auto added = addContainersRange(path);
    BOOST_REQUIRE(added.has_value());
    BOOST_REQUIRE(added->has_value());
    BOOST_TEST(**added == "containers:700065536:16777216");
    BOOST_TEST(readFile(path) == "swarm:650000000:65536\nbob:700000000:65536\n"
                                 "containers:700065536:16777216\n");
    auto again = addContainersRange(path);
    BOOST_REQUIRE(again.has_value());
    BOOST_TEST(!again->has_value());

    const auto fresh = dir / "subgid";
    auto made = addContainersRange(fresh);
    BOOST_REQUIRE(made.has_value());
    BOOST_TEST(readFile(fresh) == "containers:700000000:16777216\n");

    auto bad = addContainersRange(dir / "no" / "such" / "dir" / "subuid");
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().find("no/such/dir/subuid: cannot add 'containers:") != std::string::npos,
               bad.error());
}

BOOST_AUTO_TEST_SUITE_END()

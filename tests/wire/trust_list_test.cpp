#include "wire/trust_list.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <fstream>

using namespace swarm::wire;
using swarm::test::TempDir;

namespace {
PeerId newPeer() {
    return PeerId(Identity::generate().publicKey());
}

std::string errorOf(std::string_view text) {
    auto r = TrustList::parse(text, "trust.toml");
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == Error::Code::kMalformed));
    return r.error().what;
}
} // namespace

BOOST_AUTO_TEST_SUITE(trust_list)

BOOST_AUTO_TEST_CASE(add_remove_save_load) {
    TempDir dir;
    auto path = dir.path() / "trust.toml";
    auto self = newPeer();
    auto alice = newPeer();
    auto bob = newPeer();
    TrustList list;
    BOOST_REQUIRE(list.add(alice, "alice", self));
    BOOST_REQUIRE(list.add(bob, "", self));
    list.save(path);
    struct stat st {};
    BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);

    auto loaded = TrustList::load(path);
    BOOST_REQUIRE(loaded);
    BOOST_TEST(loaded->entries().size() == 2u);
    BOOST_TEST(loaded->contains(alice));
    BOOST_TEST(loaded->contains(bob.key()));
    BOOST_TEST(*loaded->nameOf(alice) == "alice");
    BOOST_TEST(!loaded->contains(self));

    auto removed = loaded->remove("alice");
    BOOST_REQUIRE(removed);
    BOOST_TEST((removed->id == alice));
    BOOST_REQUIRE(loaded->remove(bob.str()));
    BOOST_TEST(loaded->empty());
    BOOST_TEST((loaded->remove("alice").error().code == Error::Code::kNotFound));
}

BOOST_AUTO_TEST_CASE(missing_file_is_empty_list) {
    TempDir dir;
    auto loaded = TrustList::load(dir.path() / "none.toml");
    BOOST_REQUIRE(loaded);
    BOOST_TEST(loaded->empty());
}

BOOST_AUTO_TEST_CASE(add_rejects_self_duplicate_and_bad_names) {
    auto self = newPeer();
    auto alice = newPeer();
    TrustList list;
    BOOST_TEST((list.add(self, "", self).error().code == Error::Code::kInvalidArgument));
    BOOST_REQUIRE(list.add(alice, "alice", self));
    BOOST_TEST((list.add(alice, "", self).error().code == Error::Code::kExists));
    BOOST_TEST((list.add(newPeer(), "alice", self).error().code == Error::Code::kInvalidArgument));
    BOOST_TEST(
        (list.add(newPeer(), "has space", self).error().code == Error::Code::kInvalidArgument));
    BOOST_TEST(list.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_files_name_the_line) {
    auto id = newPeer().str();
    BOOST_TEST(errorOf("[[peer]]\nid = \"" + id + "\"\nname = \"x\"\n[[peer]]\nid = 42\n")
                   .starts_with("trust.toml:5:"));
    BOOST_TEST(errorOf("\n\n[[peer]]\nid = \"sw1bad\"\n").starts_with("trust.toml:4:"));
    BOOST_TEST(errorOf("[[peer]]\nname = \"x\"\n").find("without an 'id'") != std::string::npos);
    BOOST_TEST(errorOf("[[peer]]\nid = \"" + id + "\"\ncolour = 1\n").find("unknown key") !=
               std::string::npos);
    BOOST_TEST(
        errorOf("[[peer]]\nid = \"" + id + "\"\n[[peer]]\nid = \"" + id + "\"\n").find("twice") !=
        std::string::npos);
    BOOST_TEST(errorOf("[[peer]\n").starts_with("trust.toml:1:"));
    BOOST_TEST(errorOf("peer = 3\n").find("array of tables") != std::string::npos);
    BOOST_TEST(errorOf("workers = []\n").find("unknown key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_file_on_disk_is_an_error_not_empty) {
    TempDir dir;
    auto path = dir.path() / "trust.toml";
    std::ofstream(path) << "[[peer]]\nid = \"nope\"\n";
    auto loaded = TrustList::load(path);
    BOOST_REQUIRE(!loaded);
    BOOST_TEST(loaded.error().what.find(path.string() + ":2:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hand_edited_file_with_comments_parses) {
    auto a = newPeer().str();
    auto list = TrustList::parse("# my friends\n[[peer]] # first\nid = \"" + a +
                                     "\"  # alice's laptop\nname = \"alice\"\n",
                                 "t");
    BOOST_REQUIRE(list);
    BOOST_TEST(list->entries().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// The direct volume copies, on a plain temporary directory standing in for
// a unit volume's host directory. (The same copies against real Podman, as
// root and rootless, are in podman_test.cpp.)
#include "sandbox/volume_files.hpp"
#include "support/temp_dir.hpp"
#include "wire/digest.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>

using namespace swarm;
using namespace swarm::sandbox;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

unsigned mode(const fs::path& p) {
    struct stat st {};
    BOOST_REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

TarOwner me() {
    return {::getuid(), ::getgid()};
}

// A volume with out/ and an empty destination next to it.
struct Volume {
    test::TempDir dir;
    fs::path vol = dir.path() / "vol";
    fs::path out = vol / "out";
    fs::path dest = dir.path() / "dest";
    Volume() {
        fs::create_directories(out);
        fs::create_directories(dest);
    }
    std::expected<std::vector<OutputFile>, wire::Error> copy(std::uint64_t maxBytes = 1 << 20,
                                                             std::uint32_t maxEntries = 100) {
        return copyOutputs(vol, dest, maxBytes, maxEntries);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(volume_files)

BOOST_AUTO_TEST_CASE(id_mapping_reads_podman_ranges) {
    auto m = IdMapping::parse({"0:700000000:1024"}, {"0:700100000:1024"});
    BOOST_REQUIRE(m);
    auto root = m->toHost({0, 0});
    BOOST_REQUIRE(root);
    BOOST_TEST(root->uid == 700000000u);
    BOOST_TEST(root->gid == 700100000u);
    BOOST_TEST(!m->toHost({1024, 0})); // outside the range: not mapped
    BOOST_TEST(!m->toHost({0, 65534}));

    auto multi = IdMapping::parse({"0:1000:1", "1:100000:65536"}, {"0:1000:1", "1:100000:65536"});
    BOOST_REQUIRE(multi);
    BOOST_TEST(multi->toHost({65534, 65534})->uid == 100000u + 65533u);
    BOOST_TEST(multi->toHost({0, 0})->uid == 1000u);

    auto none = IdMapping::parse({}, {}); // no user namespace
    BOOST_REQUIRE(none);
    BOOST_TEST(none->toHost({65534, 7})->uid == 65534u);
    BOOST_TEST(none->toHost({65534, 7})->gid == 7u);

    for (const char* bad :
         {"0:1", "a:b:c", "0:1:0", "0:1:2:3", "0:1:2 ", "-1:0:1", "0:4294967296:1", ":1:1", ""}) {
        BOOST_TEST_CONTEXT(bad) {
            BOOST_TEST(!IdMapping::parse({bad}, {"0:1:1"}));
            BOOST_TEST(!IdMapping::parse({"0:1:1"}, {bad}));
        }
    }
    // A range running past the last host id maps nothing past it.
    auto edge = IdMapping::parse({"0:4294967295:2"}, {"0:0:1"});
    BOOST_REQUIRE(edge);
    BOOST_TEST(!edge->toHost({1, 0}));
}

BOOST_AUTO_TEST_CASE(inputs_make_the_same_tree_as_the_archive) {
    test::TempDir dir;
    fs::path vol = dir.path() / "vol";
    fs::create_directories(vol);
    write(dir.path() / "src" / "a", "alpha");
    write(dir.path() / "src" / "b", std::string(3 << 20, 'b')); // several chunks
    std::vector<InputFile> inputs{{"a.txt", dir.path() / "src" / "a"},
                                  {"n/m/b.bin", dir.path() / "src" / "b"}};
    auto written = writeInputs(vol, inputs, me(), me());
    BOOST_TEST(written == 5u + (3u << 20));
    BOOST_TEST(read(vol / "in" / "a.txt") == "alpha");
    BOOST_TEST(read(vol / "in" / "n" / "m" / "b.bin") == std::string(3 << 20, 'b'));
    BOOST_TEST(mode(vol / "in") == 0555u);
    BOOST_TEST(mode(vol / "in" / "n") == 0555u);
    BOOST_TEST(mode(vol / "in" / "n" / "m") == 0555u);
    BOOST_TEST(mode(vol / "in" / "a.txt") == 0444u);
    BOOST_TEST(mode(vol / "out") == 0755u);
    BOOST_TEST(fs::is_empty(vol / "out"));
}

BOOST_AUTO_TEST_CASE(inputs_never_follow_or_replace) {
    test::TempDir dir;
    write(dir.path() / "src", "x");
    std::vector<InputFile> inputs{{"a", dir.path() / "src"}};
    {
        // in/ already a link to elsewhere: refused, nothing written there.
        fs::path vol = dir.path() / "v1";
        fs::create_directories(vol);
        fs::create_directories(dir.path() / "elsewhere");
        fs::create_directory_symlink(dir.path() / "elsewhere", vol / "in");
        BOOST_CHECK_THROW(writeInputs(vol, inputs, me(), me()), std::system_error);
        BOOST_TEST(fs::is_empty(dir.path() / "elsewhere"));
    }
    {
        // A file already there is not overwritten.
        fs::path vol = dir.path() / "v2";
        write(vol / "in" / "a", "old");
        BOOST_CHECK_THROW(writeInputs(vol, inputs, me(), me()), std::system_error);
        BOOST_TEST(read(vol / "in" / "a") == "old");
    }
}

BOOST_AUTO_TEST_CASE(outputs_are_copied_and_hashed) {
    Volume v;
    write(v.out / "b.txt", "bee");
    write(v.out / "sub" / "a.txt", "ay");
    fs::permissions(v.out / "sub" / "a.txt", fs::perms::owner_all); // 0700: executable
    fs::create_symlink("sub/a.txt", v.out / "link");
    fs::create_hard_link(v.out / "b.txt", v.out / "hard");
    fs::create_directories(v.out / "empty");
    auto files = v.copy();
    BOOST_REQUIRE(files);
    BOOST_REQUIRE_EQUAL(files->size(), 4u);
    BOOST_TEST((*files)[0].path == "b.txt");
    BOOST_TEST((*files)[0].size == 3u);
    BOOST_TEST((*files)[0].digest.str() == wire::sha256(wire::asBytes("bee")).str());
    BOOST_TEST((*files)[1].path == "hard");
    BOOST_TEST((*files)[2].path == "link");
    BOOST_TEST((*files)[2].linkTarget == "sub/a.txt");
    BOOST_TEST((*files)[2].digest.str() == wire::sha256(wire::asBytes("sub/a.txt")).str());
    BOOST_TEST((*files)[3].path == "sub/a.txt");
    BOOST_TEST(read(v.dest / "hard") == "bee");
    BOOST_TEST(fs::hard_link_count(v.dest / "hard") == 1u);
    BOOST_TEST(fs::read_symlink(v.dest / "link") == "sub/a.txt");
    BOOST_TEST(mode(v.dest / "sub" / "a.txt") == 0755u);
    BOOST_TEST(mode(v.dest / "b.txt") == 0644u);
    BOOST_TEST(fs::is_directory(v.dest / "empty"));
}

BOOST_AUTO_TEST_CASE(hostile_outputs_are_refused_with_nothing_written) {
    using Code = wire::Error::Code;
    struct Case {
        const char* name;
        std::function<void(const fs::path&)> make;
        Code code;
        const char* words;
    };
    const Case cases[] = {
        {"fifo",
         [](const fs::path& out) { BOOST_REQUIRE(::mkfifo((out / "p").c_str(), 0644) == 0); },
         Code::kInvalidArgument, "fifo 'p'"},
        {"socket",
         [](const fs::path& out) {
             int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
             sockaddr_un a{};
             a.sun_family = AF_UNIX;
             std::string p = (out / "s").string();
             BOOST_REQUIRE(p.size() < sizeof a.sun_path);
             std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
             BOOST_REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
             ::close(s);
         },
         Code::kInvalidArgument, "not a file, directory or symlink"},
        {"absolute link", [](const fs::path& out) { fs::create_symlink("/etc", out / "etc"); },
         Code::kInvalidArgument, "is absolute"},
        {"climbing link",
         [](const fs::path& out) {
             fs::create_directories(out / "d");
             fs::create_symlink("x/../..", out / "d" / "up");
         },
         Code::kInvalidArgument, "may leave the output"},
        {"too deep",
         [](const fs::path& out) {
             fs::path p = out;
             for (int i = 0; i < 130; ++i)
                 p /= "d";
             fs::create_directories(p);
         },
         Code::kInvalidArgument, "deeper than 128"},
        {"too many",
         [](const fs::path& out) {
             for (int i = 0; i < 101; ++i)
                 write(out / ("f" + std::to_string(i)), "");
         },
         Code::kTooLarge, "more than 100 entries"},
        {"too big",
         [](const fs::path& out) { write(out / "big", std::string((1 << 20) + 1, 'x')); },
         Code::kTooLarge, "bytes"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            Volume v;
            write(v.out / "a-good-file", "fine"); // judged first, so never copied
            c.make(v.out);
            auto files = v.copy(1 << 20, c.name == std::string("too deep") ? 1000 : 100);
            BOOST_REQUIRE(!files);
            BOOST_TEST((files.error().code == c.code));
            BOOST_TEST(files.error().what.find(c.words) != std::string::npos, files.error().what);
            BOOST_TEST(fs::is_empty(v.dest));
        }
    }
}

BOOST_AUTO_TEST_CASE(missing_or_replaced_out_is_not_found) {
    {
        Volume v;
        fs::remove(v.out);
        auto files = v.copy();
        BOOST_REQUIRE(!files);
        BOOST_TEST((files.error().code == wire::Error::Code::kNotFound));
        BOOST_TEST(files.error().what == "the unit removed /work/out");
    }
    for (bool asFile : {false, true}) {
        Volume v;
        fs::remove(v.out);
        fs::create_directories(v.dir.path() / "elsewhere");
        write(v.dir.path() / "elsewhere" / "secret", "s");
        if (asFile)
            write(v.out, "not a directory");
        else
            fs::create_directory_symlink(v.dir.path() / "elsewhere", v.out);
        auto files = v.copy();
        BOOST_REQUIRE(!files);
        BOOST_TEST((files.error().code == wire::Error::Code::kNotFound));
        BOOST_TEST(fs::is_empty(v.dest));
    }
}

BOOST_AUTO_TEST_SUITE_END()

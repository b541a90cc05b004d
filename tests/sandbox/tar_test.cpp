#include "sandbox/tar_reader.hpp"
#include "sandbox/tar_writer.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <fstream>

using namespace swarm;
using namespace swarm::sandbox;
namespace fs = std::filesystem;

namespace {

// Builds raw tar members, including ones TarWriter would refuse to write.
struct RawTar {
    wire::Bytes bytes;

    void member(const std::string& name, char type, std::string_view data = {},
                const std::string& link = {}, const std::string& prefix = {}) {
        std::uint8_t h[512] = {};
        std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
        std::snprintf(reinterpret_cast<char*>(h + 100), 8, "%07o", 0644);
        std::snprintf(reinterpret_cast<char*>(h + 108), 8, "%07o", 0);
        std::snprintf(reinterpret_cast<char*>(h + 116), 8, "%07o", 0);
        std::snprintf(reinterpret_cast<char*>(h + 124), 12, "%011zo", data.size());
        std::snprintf(reinterpret_cast<char*>(h + 136), 12, "%011o", 0);
        h[156] = static_cast<std::uint8_t>(type);
        std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
        std::memcpy(h + 257, "ustar", 6);
        std::memcpy(h + 263, "00", 2);
        std::memcpy(h + 345, prefix.data(), std::min<std::size_t>(prefix.size(), 155));
        std::memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (auto b : h)
            sum += b;
        std::snprintf(reinterpret_cast<char*>(h + 148), 8, "%06o", sum);
        bytes.insert(bytes.end(), h, h + 512);
        bytes.insert(bytes.end(), data.begin(), data.end());
        bytes.resize(bytes.size() + (512 - data.size() % 512) % 512, 0);
    }
    void pax(const std::string& key, const std::string& value) {
        std::string rec = " " + key + "=" + value + "\n";
        std::size_t len = rec.size() + 1;
        while (std::to_string(len).size() + rec.size() != len)
            ++len;
        member("PaxHeaders/x", 'x', std::to_string(len) + rec);
    }
    wire::Bytes finish() {
        bytes.resize(bytes.size() + 1024, 0);
        return bytes;
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool emptyDir(const fs::path& p) {
    return fs::is_empty(p);
}

ExtractOptions outOptions() {
    ExtractOptions o;
    o.stripComponent = "out";
    o.maxBytes = 1 << 20;
    o.maxEntries = 50;
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(tar)

BOOST_AUTO_TEST_CASE(writer_output_reads_back) {
    TarWriter w;
    w.addDirectory("out", 0755);
    w.addFile("out/a.txt", wire::asBytes("hello"), 0644);
    std::string longName = "out/" + std::string(90, 'd') + "/" + std::string(60, 'f');
    w.addFile(longName, wire::asBytes("long"), 0755);
    auto archive = w.finish();
    BOOST_TEST(archive.size() % 512 == 0u);
    test::TempDir dir;
    auto files = extractTar(archive, dir.path(), outOptions());
    BOOST_REQUIRE(files.has_value());
    BOOST_REQUIRE_EQUAL(files->size(), 2u);
    BOOST_TEST((*files)[0].path == "a.txt");
    BOOST_TEST((*files)[1].path == longName.substr(4));
    BOOST_TEST((*files)[0].digest.str() == wire::sha256(wire::asBytes("hello")).str());
    BOOST_TEST((*files)[0].size == 5u);
    BOOST_TEST(slurp(dir.path() / "a.txt") == "hello");
    BOOST_TEST(slurp(dir.path() / longName.substr(4)) == "long");
    BOOST_TEST(((fs::status(dir.path() / longName.substr(4)).permissions() &
                 fs::perms::owner_exec) != fs::perms::none));
}

BOOST_AUTO_TEST_CASE(writer_refuses_unsafe_paths) {
    TarWriter w;
    BOOST_CHECK_THROW(w.addFile("/etc/passwd", {}, 0644), std::invalid_argument);
    BOOST_CHECK_THROW(w.addFile("a/../../b", {}, 0644), std::invalid_argument);
    BOOST_CHECK_THROW(w.addFile("", {}, 0644), std::invalid_argument);
    BOOST_CHECK_THROW(w.addFile(std::string(300, 'x'), {}, 0644), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(refuses_dotdot) {
    RawTar t;
    t.member("out/", '5');
    t.member("out/../../evil", '0', "x");
    test::TempDir dir;
    auto r = extractTar(t.finish(), dir.path(), outOptions());
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().what.find("unsafe path") != std::string::npos);
    BOOST_TEST(emptyDir(dir.path()));
    BOOST_TEST(!fs::exists(dir.path().parent_path() / "evil"));
}

BOOST_AUTO_TEST_CASE(refuses_absolute_path) {
    RawTar t;
    t.member("/tmp/evil", '0', "x");
    test::TempDir dir;
    BOOST_TEST(!extractTar(t.finish(), dir.path(), ExtractOptions{}).has_value());
    BOOST_TEST(emptyDir(dir.path()));
}

BOOST_AUTO_TEST_CASE(refuses_entries_outside_strip_component) {
    RawTar t;
    t.member("out/ok", '0', "x");
    t.member("other/file", '0', "x");
    test::TempDir dir;
    BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value());
    BOOST_TEST(emptyDir(dir.path())); // nothing written: judged before writing
}

BOOST_AUTO_TEST_CASE(refuses_symlink_escapes) {
    // "sub/../f" stays inside lexically but is refused too: with ".." allowed,
    // a chain of links can climb out (a -> "d/l/../..", d/l -> "../..").
    for (std::string target :
         {"/", "/etc/passwd", "../x", "a/../../x", "../../../../etc", "sub/../f"}) {
        RawTar t;
        t.member("out/link", '2', {}, target);
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_TEST(!r.has_value(), "symlink to " << target);
        BOOST_TEST(emptyDir(dir.path()));
    }
}

BOOST_AUTO_TEST_CASE(refuses_a_symlink_chain_climbing_out) {
    RawTar t;
    t.member("out/d/", '5');
    t.member("out/d/l", '2', {}, "../..");
    t.member("out/a", '2', {}, "d/l/../..");
    test::TempDir dir;
    BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value());
    BOOST_TEST(emptyDir(dir.path()));
}

BOOST_AUTO_TEST_CASE(refuses_writing_through_a_symlink) {
    RawTar t;
    t.member("out/sub/", '5');
    t.member("out/link", '2', {}, "sub");
    t.member("out/link/file", '0', "x");
    test::TempDir dir;
    auto r = extractTar(t.finish(), dir.path(), outOptions());
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().what.find("below a non-directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keeps_symlinks_that_stay_inside) {
    RawTar t;
    t.member("out/sub/", '5');
    t.member("out/sub/f", '0', "data");
    t.member("out/link", '2', {}, "sub/f");
    t.member("out/sub/same", '2', {}, "./f");
    test::TempDir dir;
    auto r = extractTar(t.finish(), dir.path(), outOptions());
    BOOST_REQUIRE(r.has_value());
    BOOST_REQUIRE_EQUAL(r->size(), 3u);
    BOOST_TEST(fs::is_symlink(dir.path() / "link"));
    BOOST_TEST(fs::read_symlink(dir.path() / "link") == "sub/f");
    BOOST_TEST((*r)[0].linkTarget == "sub/f");
}

BOOST_AUTO_TEST_CASE(hardlinks_only_to_earlier_files_inside) {
    {
        RawTar t;
        t.member("out/f", '0', "data");
        t.member("out/g", '1', {}, "out/f");
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_REQUIRE(r.has_value());
        BOOST_TEST(slurp(dir.path() / "g") == "data");
    }
    for (std::string target : {"/etc/passwd", "../../etc/passwd", "out/missing", "etc/shadow"}) {
        RawTar t;
        t.member("out/g", '1', {}, target);
        test::TempDir dir;
        BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value(),
                   "hard link to " << target);
        BOOST_TEST(emptyDir(dir.path()));
    }
}

BOOST_AUTO_TEST_CASE(refuses_devices_and_fifos) {
    for (char type : {'3', '4', '6'}) {
        RawTar t;
        t.member("out/dev", type);
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_TEST(!r.has_value(), "type " << type);
    }
}

BOOST_AUTO_TEST_CASE(pax_path_is_checked_too) {
    RawTar t;
    t.pax("path", "out/../../../etc/evil");
    t.member("out/harmless", '0', "x");
    test::TempDir dir;
    BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value());
    BOOST_TEST(emptyDir(dir.path()));
}

BOOST_AUTO_TEST_CASE(gnu_long_link_target_is_checked) {
    RawTar t;
    t.member("././@LongLink", 'K', "/" + std::string(120, 'a'));
    t.member("out/l", '2', {}, "short");
    test::TempDir dir;
    BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value());
}

BOOST_AUTO_TEST_CASE(limits_on_bytes_and_entries) {
    {
        RawTar t;
        t.member("out/big", '0', std::string(2 << 20, 'x'));
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_REQUIRE(!r.has_value());
        BOOST_TEST(int(r.error().code) == int(wire::Error::Code::kTooLarge));
        BOOST_TEST(emptyDir(dir.path()));
    }
    {
        RawTar t;
        for (int i = 0; i < 60; ++i)
            t.member("out/f" + std::to_string(i), '0', "x");
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_REQUIRE(!r.has_value());
        BOOST_TEST(int(r.error().code) == int(wire::Error::Code::kTooLarge));
    }
}

BOOST_AUTO_TEST_CASE(refuses_duplicates_and_garbage) {
    {
        RawTar t;
        t.member("out/f", '0', "1");
        t.member("out/f", '0', "2");
        test::TempDir dir;
        BOOST_TEST(!extractTar(t.finish(), dir.path(), outOptions()).has_value());
    }
    {
        RawTar t;
        t.member("out/f", '0', "1");
        auto bytes = t.finish();
        bytes[150] ^= 1; // checksum field
        test::TempDir dir;
        auto r = extractTar(bytes, dir.path(), outOptions());
        BOOST_REQUIRE(!r.has_value());
        BOOST_TEST(int(r.error().code) == int(wire::Error::Code::kMalformed));
    }
    {
        RawTar t;
        t.member("out/f", '0', std::string(1000, 'x'));
        auto bytes = t.bytes;
        bytes.resize(700); // truncated in the data
        test::TempDir dir;
        BOOST_TEST(!extractTar(bytes, dir.path(), outOptions()).has_value());
    }
}

BOOST_AUTO_TEST_CASE(never_follows_a_symlink_planted_in_dest) {
    // Someone else put a symlink into the destination: O_NOFOLLOW refuses it.
    test::TempDir dir, elsewhere;
    fs::create_directory_symlink(elsewhere.path(), dir.path() / "sub");
    RawTar t;
    t.member("out/sub/f", '0', "x");
    BOOST_CHECK_THROW((void)extractTar(t.finish(), dir.path(), outOptions()), std::system_error);
    BOOST_TEST(emptyDir(elsewhere.path()));
}

// What the reader hands on must be exactly what is in the archive: data
// behind pax and GNU long-name headers lands at the right offset.
BOOST_AUTO_TEST_CASE(pax_and_gnu_long_names_read_back) {
    RawTar t;
    const std::string longPath = "out/" + std::string(150, 'p');
    t.pax("path", longPath);
    t.member("out/short", '0', "pax data");
    t.member("././@LongLink", 'L', "out/" + std::string(120, 'g'));
    t.member("out/x", '0', std::string(700, 'g'));
    t.pax("path", "out/caf\u00e9"); // UTF-8, which the C locale cannot convert
    t.member("out/y", '0', "utf8");
    test::TempDir dir;
    auto r = extractTar(t.finish(), dir.path(), outOptions());
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().what);
    BOOST_TEST(slurp(dir.path() / longPath.substr(4)) == "pax data");
    BOOST_TEST(slurp(dir.path() / std::string(120, 'g')) == std::string(700, 'g'));
    BOOST_TEST(slurp(dir.path() / "caf\u00e9") == "utf8");
}

BOOST_AUTO_TEST_CASE(refuses_unknown_and_gnu_special_types) {
    for (char type : {'S', 'M', 'N', 'D', 'Z'}) {
        RawTar t;
        t.member("out/odd", type, "x");
        test::TempDir dir;
        auto r = extractTar(t.finish(), dir.path(), outOptions());
        BOOST_REQUIRE_MESSAGE(!r.has_value(), "type " << type);
        BOOST_TEST(r.error().what.find("entry type") != std::string::npos, r.error().what);
        BOOST_TEST(emptyDir(dir.path()));
    }
}

BOOST_AUTO_TEST_CASE(refuses_a_sparse_file_declared_in_pax_records) {
    // A regular entry whose pax records (GNU sparse 0.0) make it a file of
    // 600 bytes, a hole and one data byte: libarchive would hand back holes
    // and data at offsets of its own. Refused twice over: by its sparse map,
    // and because its data is not one run in place (either check alone
    // catches it; with both removed this test fails).
    auto record = [](const std::string& key, const std::string& value) {
        std::string rec = " " + key + "=" + value + "\n";
        std::size_t len = rec.size() + 1;
        while (std::to_string(len).size() + rec.size() != len)
            ++len;
        return std::to_string(len) + rec;
    };
    RawTar t;
    t.member("PaxHeaders/x", 'x',
             record("GNU.sparse.size", "600") + record("GNU.sparse.numblocks", "1") +
                 record("GNU.sparse.offset", "500") + record("GNU.sparse.numbytes", "1"));
    t.member("out/sparse", '0', "x");
    test::TempDir dir;
    auto r = extractTar(t.finish(), dir.path(), outOptions());
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST_MESSAGE(r.error().what);
    BOOST_TEST(emptyDir(dir.path()));
}

BOOST_AUTO_TEST_CASE(hostile_headers_give_clear_errors) {
    auto refused = [](wire::Bytes bytes, std::string_view says) {
        test::TempDir dir;
        auto r = extractTar(bytes, dir.path(), outOptions());
        BOOST_REQUIRE(!r.has_value());
        BOOST_TEST(r.error().what.find(says) != std::string::npos, r.error().what);
        BOOST_TEST(emptyDir(dir.path()));
    };
    { // a size far past the end (octal 77777777777 = 8 GiB - 1)
        RawTar t;
        t.member("out/f", '0', "x");
        auto bytes = t.finish();
        std::memcpy(bytes.data() + 124, "77777777777", 11);
        std::memset(bytes.data() + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; ++i)
            sum += bytes[i];
        std::snprintf(reinterpret_cast<char*>(bytes.data() + 148), 8, "%06o", sum);
        refused(bytes, "runs past the end");
    }
    { // a pax size that reaches past the end
        RawTar t;
        t.pax("size", "99999999999");
        t.member("out/f", '0', "x");
        refused(t.finish(), "past the end");
    }
    { // a malformed pax record
        RawTar t;
        t.member("PaxHeaders/x", 'x', "zz path=out/a\n");
        t.member("out/f", '0', "x");
        refused(t.finish(), "pax");
    }
    { // metadata headers without end
        RawTar t;
        for (int i = 0; i < 40; ++i)
            t.member("././@LongLink", 'L', "out/again");
        t.member("out/f", '0', "x");
        refused(t.finish(), "Too many special headers");
    }
    { // a header cut short
        RawTar t;
        t.member("out/f", '0', "x");
        auto bytes = t.bytes;
        bytes.resize(1024 + 100);
        refused(bytes, "Truncated");
    }
    refused(wire::Bytes(600, 'z'), "not a tar archive");
}

BOOST_AUTO_TEST_CASE(an_empty_archive_is_empty) {
    test::TempDir dir;
    auto none = extractTar(wire::Bytes{}, dir.path(), ExtractOptions{});
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->empty());
    auto marker = extractTar(TarWriter().finish(), dir.path(), ExtractOptions{});
    BOOST_REQUIRE(marker.has_value());
    BOOST_TEST(marker->empty());
}

BOOST_AUTO_TEST_CASE(writer_links_and_sink) {
    wire::Bytes streamed;
    TarWriter w(
        [&](wire::ByteView chunk) { streamed.insert(streamed.end(), chunk.begin(), chunk.end()); });
    w.addDirectory("out", 0755);
    w.addFile("out/f", wire::asBytes("data"), 0644);
    w.addSymlink("out/s", "f");
    w.addHardLink("out/h", "out/f");
    BOOST_TEST(w.finish().empty());
    BOOST_TEST(streamed.size() % 512 == 0u);
    auto listed = listTar(streamed, 10);
    BOOST_REQUIRE(listed.has_value());
    BOOST_REQUIRE_EQUAL(listed->size(), 4u);
    BOOST_TEST((*listed)[0].path == "out/");
    BOOST_TEST((*listed)[2].type == '2');
    BOOST_TEST((*listed)[2].linkTarget == "f");
    BOOST_TEST((*listed)[3].type == '1');
    BOOST_TEST((*listed)[3].linkTarget == "out/f");
    BOOST_CHECK_THROW(w.addSymlink("out/t", std::string(101, 'x')), std::invalid_argument);
    BOOST_CHECK_THROW(w.addHardLink("out/t", "../f"), std::invalid_argument);
    test::TempDir dir;
    auto r = extractTar(streamed, dir.path(), outOptions());
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().what);
    BOOST_TEST(slurp(dir.path() / "h") == "data");
}

BOOST_AUTO_TEST_CASE(writer_sink_failures_and_abandoning) {
    std::size_t calls = 0;
    {
        TarWriter w([&](wire::ByteView) { ++calls; });
        w.addFile("a", wire::asBytes("x"), 0644);
    } // abandoned: the end marker libarchive writes on free goes nowhere
    BOOST_TEST(calls == 0u);
    TarWriter failing([](wire::ByteView) { throw std::runtime_error("disk full"); });
    failing.addFile("a", wire::asBytes("x"), 0644);
    BOOST_CHECK_EXCEPTION(failing.finish(), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()) == "disk full";
    });
}

BOOST_AUTO_TEST_SUITE_END()

#include "base/sha256.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

using namespace swarm;

namespace {

std::string hex(const base::Sha256Digest& d) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (auto b : d) {
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
    }
    return out;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMiBZeros =
    "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

} // namespace

BOOST_AUTO_TEST_SUITE(sha256)

BOOST_AUTO_TEST_CASE(known_vectors_one_shot) {
    BOOST_TEST(hex(base::Sha256::of({})) == kEmpty);
    BOOST_TEST(hex(base::Sha256::of(bytes("abc"))) == kAbc);
    const std::vector<std::uint8_t> zeros(1 << 20, 0);
    BOOST_TEST(hex(base::Sha256::of(zeros)) == kMiBZeros);
    BOOST_TEST(hex(base::Sha256::of(bytes(std::string(1'000'000, 'a')))) == kMillionA);
}

BOOST_AUTO_TEST_CASE(known_vectors_streamed) {
    BOOST_TEST(hex(base::Sha256().finish()) == kEmpty);
    base::Sha256 abc;
    abc.update(std::string_view("a"));
    abc.update(std::string_view()); // nothing, harmlessly
    abc.update(std::string_view("bc"));
    BOOST_TEST(hex(abc.finish()) == kAbc);
    // 1 MiB of zeros in uneven pieces, across block boundaries.
    const std::vector<std::uint8_t> zeros(1 << 20, 0);
    base::Sha256 h;
    std::size_t done = 0;
    for (std::size_t step = 1; done < zeros.size(); step = step * 3 + 1) {
        const std::size_t n = std::min(step, zeros.size() - done);
        h.update(std::span(zeros.data() + done, n));
        done += n;
    }
    BOOST_TEST(hex(h.finish()) == kMiBZeros);
}

BOOST_AUTO_TEST_CASE(a_hasher_can_move) {
    base::Sha256 a;
    a.update(std::string_view("a"));
    base::Sha256 b(std::move(a));
    b.update(std::string_view("bc"));
    BOOST_TEST(hex(b.finish()) == kAbc);
}

BOOST_AUTO_TEST_CASE(hashes_a_file) {
    test::TempDir dir;
    const auto path = dir.path() / "data";
    std::string content;
    for (int i = 0; i < 300'000; ++i) // a little over 2 MiB: several reads
        content += static_cast<char>('a' + i % 26) + std::string("bcdefg");
    std::ofstream(path, std::ios::binary) << content;
    const auto hashed = base::hashFile(path);
    BOOST_TEST(hashed.size == content.size());
    BOOST_TEST(hex(hashed.digest) == hex(base::Sha256::of(bytes(content))));

    std::ofstream(dir.path() / "zeros", std::ios::binary) << std::string(1 << 20, '\0');
    BOOST_TEST(hex(base::hashFile(dir.path() / "zeros").digest) == kMiBZeros);
    std::ofstream(dir.path() / "empty", std::ios::binary);
    const auto empty = base::hashFile(dir.path() / "empty");
    BOOST_TEST(empty.size == 0u);
    BOOST_TEST(hex(empty.digest) == kEmpty);
}

BOOST_AUTO_TEST_CASE(hash_fd_reads_from_the_offset_to_the_end) {
    test::TempDir dir;
    const auto path = dir.path() / "abc";
    std::ofstream(path, std::ios::binary) << "xxabc";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::lseek(fd, 2, SEEK_SET) == 2);
    const auto hashed = base::hashFd(fd, "abc");
    BOOST_TEST(hashed.size == 3u);
    BOOST_TEST(hex(hashed.digest) == kAbc);
    BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 5); // left at the end, still open
    ::close(fd);
}

BOOST_AUTO_TEST_CASE(a_missing_file_throws_with_its_errno) {
    test::TempDir dir;
    const auto path = dir.path() / "absent";
    try {
        base::hashFile(path);
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code().value() == ENOENT);
        BOOST_TEST(std::string(e.what()).find("open " + path.string()) == 0u);
    }
    // A directory opens but cannot be read.
    BOOST_CHECK_THROW(base::hashFile(dir.path()), std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()

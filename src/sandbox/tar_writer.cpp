#include "sandbox/tar_writer.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace swarm::sandbox {

namespace {

constexpr std::size_t kBlock = 512;

void putOctal(std::uint8_t* field, std::size_t width, std::uint64_t value) {
    // width includes the terminating NUL.
    std::string digits(width - 1, '0');
    for (std::size_t i = width - 1; i-- > 0;) {
        digits[i] = static_cast<char>('0' + (value & 7));
        value >>= 3;
    }
    if (value != 0)
        throw std::invalid_argument("tar: value too large for ustar field");
    std::memcpy(field, digits.data(), width - 1);
    field[width - 1] = 0;
}

} // namespace

bool isSafeRelativePath(std::string_view path) noexcept {
    if (path.empty() || path.front() == '/')
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        auto part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        if (part.find('\0') != std::string_view::npos)
            return false;
        start = end + 1;
    }
    return true;
}

void TarWriter::header(std::string_view path, char type, std::uint64_t size, std::uint32_t mode,
                       TarOwner owner) {
    if (!isSafeRelativePath(path))
        throw std::invalid_argument("tar: unsafe path '" + std::string(path) + "'");
    std::string name(path);
    if (type == '5')
        name += '/';
    std::string prefix;
    if (name.size() > 100) {
        // Split at a '/' so that the prefix has <= 155 bytes and the name <= 100.
        std::size_t cut = std::string::npos;
        for (std::size_t i = 1; i < name.size() - 1 && i <= 155; ++i) {
            if (name[i] == '/' && name.size() - i - 1 <= 100) {
                cut = i;
                break;
            }
        }
        if (cut == std::string::npos)
            throw std::invalid_argument("tar: path too long for ustar '" + name + "'");
        prefix = name.substr(0, cut);
        name = name.substr(cut + 1);
    }
    std::uint8_t block[kBlock] = {};
    std::memcpy(block, name.data(), name.size());
    putOctal(block + 100, 8, mode & 07777);
    putOctal(block + 108, 8, owner.uid);
    putOctal(block + 116, 8, owner.gid);
    putOctal(block + 124, 12, size);
    putOctal(block + 136, 12, 0); // mtime: reproducible archives
    std::memset(block + 148, ' ', 8);
    block[156] = static_cast<std::uint8_t>(type);
    std::memcpy(block + 257, "ustar", 6);
    std::memcpy(block + 263, "00", 2);
    std::memcpy(block + 345, prefix.data(), prefix.size());
    unsigned sum = 0;
    for (auto b : block)
        sum += b;
    putOctal(block + 148, 7, sum);
    block[155] = ' ';
    out_.insert(out_.end(), block, block + kBlock);
}

void TarWriter::addDirectory(std::string_view path, std::uint32_t mode, TarOwner owner) {
    header(path, '5', 0, mode, owner);
}

void TarWriter::addFile(std::string_view path, wire::ByteView data, std::uint32_t mode,
                        TarOwner owner) {
    header(path, '0', data.size(), mode, owner);
    out_.insert(out_.end(), data.begin(), data.end());
    out_.resize(out_.size() + (kBlock - data.size() % kBlock) % kBlock, 0);
}

wire::Bytes TarWriter::finish() {
    out_.resize(out_.size() + 2 * kBlock, 0);
    return std::exchange(out_, {});
}

} // namespace swarm::sandbox

#include "worker/subordinate_ids.hpp"

#include "base/unique_fd.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace swarm::worker {

namespace {

struct Range {
    std::string name;
    std::uint64_t start = 0;
    std::uint64_t count = 0;
};

std::optional<std::uint64_t> number(std::string_view s) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        return std::nullopt;
    return n;
}

std::vector<Range> ranges(std::string_view file) {
    std::vector<Range> out;
    while (!file.empty()) {
        const auto eol = file.find('\n');
        const auto line = file.substr(0, eol);
        file = eol == std::string_view::npos ? std::string_view() : file.substr(eol + 1);
        const auto a = line.find(':');
        const auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
        if (b == std::string_view::npos)
            continue;
        auto start = number(line.substr(a + 1, b - a - 1));
        auto count = number(line.substr(b + 1));
        if (start && count)
            out.push_back({std::string(line.substr(0, a)), *start, *count});
    }
    return out;
}

} // namespace

std::uint64_t freeSubordinateStart(std::string_view file, std::uint64_t from, std::uint64_t count) {
    const auto taken = ranges(file);
    std::uint64_t start = from;
    // Each pass moves past one overlapping range; at most one per range.
    for (std::size_t pass = 0; pass <= taken.size(); ++pass) {
        bool moved = false;
        for (const auto& r : taken) {
            if (start < r.start + r.count && r.start < start + count) {
                start = r.start + r.count;
                moved = true;
            }
        }
        if (!moved)
            break;
    }
    return start;
}

bool hasSubordinateRange(std::string_view file, std::string_view name) {
    for (const auto& r : ranges(file))
        if (r.name == name)
            return true;
    return false;
}

std::expected<std::optional<std::string>, std::string>
addContainersRange(const std::filesystem::path& path) {
    std::string content;
    if (std::filesystem::exists(path)) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        if (!in && !in.eof())
            return std::unexpected(fmt::format("{}: cannot read it", path.string()));
        content = s.str();
    }
    if (hasSubordinateRange(content, "containers"))
        return std::nullopt;
    const auto line = fmt::format("containers:{}:{}",
                                  freeSubordinateStart(content, kContainersStart, kContainersCount),
                                  kContainersCount);
    const std::string text = (content.empty() || content.ends_with('\n') ? "" : "\n") + line + "\n";
    base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) != 0)
        return std::unexpected(
            fmt::format("{}: cannot add '{}': {}", path.string(), line, std::strerror(errno)));
    return line;
}

} // namespace swarm::worker

#include "submitter/job_index.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace swarm::submitter {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kVersion = "j1";
constexpr std::string_view kEnd = ".";

std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::optional<std::string> unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (++i == text.size())
            return std::nullopt;
        switch (text[i]) {
        case '\\':
            out += '\\';
            break;
        case 't':
            out += '\t';
            break;
        case 'n':
            out += '\n';
            break;
        default:
            return std::nullopt;
        }
    }
    return out;
}

std::vector<std::string_view> splitTabs(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos)
            return fields;
        start = tab + 1;
    }
}

[[noreturn]] void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// Whether the file's last byte is a newline (or the file is empty): a
// line cut short by a crash must not swallow the next one.
bool endsWithNewline(int fd, const fs::path& file) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throwErrno("stat " + file.string());
    if (st.st_size == 0)
        return true;
    char last = 0;
    if (::pread(fd, &last, 1, st.st_size - 1) != 1)
        throwErrno("read " + file.string());
    return last == '\n';
}

} // namespace

std::string indexLine(const IndexEntry& e) {
    std::string line(kVersion);
    line += '\t';
    line += std::to_string(e.timeMs);
    line += '\t';
    line += escape(e.kind);
    line += '\t';
    line += escape(e.dir.string());
    line += '\t';
    line += escape(e.name);
    line += '\t';
    line += kEnd;
    line += '\n';
    return line;
}

std::optional<IndexEntry> parseIndexLine(std::string_view line) {
    const auto f = splitTabs(line);
    if (f.size() != 6 || f[0] != kVersion || f[5] != kEnd)
        return std::nullopt;
    IndexEntry e;
    const auto [end, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), e.timeMs);
    if (ec != std::errc() || end != f[1].data() + f[1].size() || f[1].empty() || e.timeMs < 0)
        return std::nullopt;
    auto kind = unescape(f[2]);
    auto dir = unescape(f[3]);
    auto name = unescape(f[4]);
    if (!kind || !dir || !name || dir->empty() || !fs::path(*dir).is_absolute() ||
        (*kind != "run" && *kind != "resume"))
        return std::nullopt;
    e.kind = std::move(*kind);
    e.dir = std::move(*dir);
    e.name = std::move(*name);
    return e;
}

JobIndex::Contents parseIndex(std::string_view text) {
    JobIndex::Contents out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) { // the last line, cut short
            ++out.skipped;
            break;
        }
        const auto line = text.substr(start, nl - start);
        start = nl + 1;
        if (line.empty())
            continue; // the fresh start after a line cut short
        if (auto e = parseIndexLine(line))
            out.entries.push_back(std::move(*e));
        else
            ++out.skipped;
    }
    return out;
}

void JobIndex::record(const IndexEntry& entry) const {
    if (file_.has_parent_path())
        fs::create_directories(file_.parent_path());
    base::UniqueFd fd(::open(file_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd)
        throwErrno("open " + file_.string());
    std::string data = indexLine(entry);
    if (!endsWithNewline(fd.get(), file_))
        data.insert(data.begin(), '\n');
    // One write() keeps the line whole beside concurrent appenders.
    const auto n = ::write(fd.get(), data.data(), data.size());
    if (n < 0)
        throwErrno("write " + file_.string());
    if (static_cast<std::size_t>(n) != data.size())
        throw std::system_error(EIO, std::generic_category(), "short write to " + file_.string());
    if (::fsync(fd.get()) != 0)
        throwErrno("fsync " + file_.string());
}

JobIndex::Contents JobIndex::read() const {
    std::ifstream in(file_, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!fs::exists(file_, ec) && !ec)
            return {};
        throw std::system_error(errno ? errno : EIO, std::generic_category(),
                                "read " + file_.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw std::system_error(EIO, std::generic_category(), "read " + file_.string());
    return parseIndex(text.str());
}

} // namespace swarm::submitter

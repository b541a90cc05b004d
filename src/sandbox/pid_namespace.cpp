#include "sandbox/pid_namespace.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>

namespace swarm::sandbox {

namespace fs = std::filesystem;

namespace {

std::optional<pid_t> pidOf(const fs::path& entry) {
    const auto name = entry.filename().string();
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size() || pid <= 0)
        return std::nullopt;
    return pid;
}

std::string readSmallFile(const fs::path& p) {
    std::ifstream in(p);
    std::string text;
    std::getline(in, text);
    return text;
}

} // namespace

std::optional<std::string> pidNamespaceOf(pid_t pid, const fs::path& proc) {
    std::error_code ec;
    auto link = fs::read_symlink(proc / std::to_string(pid) / "ns" / "pid", ec);
    if (ec)
        return std::nullopt;
    return link.string();
}

// Never our own namespace: a container's init pid that was reused by a
// host process after the container ended must not make every process on
// the host a "unit" (to be stopped, or counted as the worker's).
std::vector<pid_t> processesInNamespaceOf(pid_t init, const fs::path& proc) {
    std::vector<pid_t> pids;
    const auto ns = pidNamespaceOf(init, proc);
    std::error_code ec;
    const auto own = fs::read_symlink(proc / "self" / "ns" / "pid", ec);
    if (!ns || (!ec && own.string() == *ns))
        return pids;
    for (const auto& entry : fs::directory_iterator(proc, ec)) {
        auto pid = pidOf(entry.path());
        if (pid && pidNamespaceOf(*pid, proc) == ns)
            pids.push_back(*pid);
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

// "pid (comm) state ppid ..." — comm may hold spaces and parentheses, so
// the fields are counted from the last ')'. utime is field 14, stime 15,
// cutime 16, cstime 17 (1-based, proc(5)).
std::optional<std::uint64_t> cpuTicksOfStat(std::string_view stat) {
    const auto close = stat.rfind(')');
    if (close == std::string_view::npos)
        return std::nullopt;
    std::istringstream rest{std::string(stat.substr(close + 1))};
    std::string field;
    std::uint64_t sum = 0;
    // After ')': state is field 3, so utime is the 12th token.
    for (int i = 3; i <= 17; ++i) {
        if (!(rest >> field))
            return std::nullopt;
        if (i < 14)
            continue;
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
        if (ec != std::errc() || end != field.data() + field.size() || v < 0)
            return std::nullopt;
        sum += static_cast<std::uint64_t>(v);
    }
    return sum;
}

std::uint64_t cpuTicksOfNamespace(pid_t init, const fs::path& proc) {
    std::uint64_t sum = 0;
    for (auto pid : processesInNamespaceOf(init, proc))
        if (auto t = cpuTicksOfStat(readSmallFile(proc / std::to_string(pid) / "stat")))
            sum += *t;
    return sum;
}

} // namespace swarm::sandbox

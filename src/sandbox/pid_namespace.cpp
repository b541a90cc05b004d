#include "sandbox/pid_namespace.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
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

std::optional<PidStat> statOf(const fs::path& proc, pid_t pid) {
    return parsePidStat(readSmallFile(proc / std::to_string(pid) / "stat"));
}

} // namespace

std::optional<std::string> pidNamespaceOf(pid_t pid, const fs::path& proc) {
    std::error_code ec;
    auto link = fs::read_symlink(proc / std::to_string(pid) / "ns" / "pid", ec);
    if (ec)
        return std::nullopt;
    return link.string();
}

// "pid (comm) state ppid ..." — comm may hold spaces and parentheses, so
// the fields are counted from the last ')': ppid is field 4, utime 14,
// stime 15, cutime 16, cstime 17, starttime 22 (1-based, proc(5)).
std::optional<PidStat> parsePidStat(std::string_view stat) {
    const auto close = stat.rfind(')');
    if (close == std::string_view::npos)
        return std::nullopt;
    std::istringstream rest{std::string(stat.substr(close + 1))};
    std::string field;
    PidStat s;
    for (int i = 3; i <= 22; ++i) {
        if (!(rest >> field))
            return std::nullopt;
        if (i != 4 && (i < 14 || i > 17) && i != 22)
            continue;
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
        if (ec != std::errc() || end != field.data() + field.size() || v < 0)
            return std::nullopt;
        if (i == 4)
            s.ppid = static_cast<pid_t>(v);
        else if (i == 22)
            s.startTime = static_cast<std::uint64_t>(v);
        else
            s.cpuTicks += static_cast<std::uint64_t>(v);
    }
    return s;
}

std::optional<std::uint64_t> cpuTicksOfStat(std::string_view stat) {
    auto s = parsePidStat(stat);
    return s ? std::optional(s->cpuTicks) : std::nullopt;
}

// Never our own namespace: a container's init pid that was reused by a
// host process must not make every process on the host a "unit" (to be
// stopped, or counted as the worker's).
UnitProcesses::UnitProcesses(pid_t init, fs::path proc) : proc_(std::move(proc)), init_(init) {
    auto ns = pidNamespaceOf(init, proc_);
    std::error_code ec;
    const auto own = fs::read_symlink(proc_ / "self" / "ns" / "pid", ec);
    if (!ns || (!ec && own.string() == *ns))
        return;
    nsFd_ = base::UniqueFd(
        ::open((proc_ / std::to_string(init) / "ns" / "pid").c_str(), O_RDONLY | O_CLOEXEC));
    // The link was read first: the namespace held must still be that one.
    if (pidNamespaceOf(init, proc_) == ns)
        ns_ = *ns;
}

std::vector<ProcessRef> UnitProcesses::list() const {
    std::vector<ProcessRef> out;
    if (ns_.empty())
        return out;
    std::map<pid_t, PidStat> all;
    std::vector<pid_t> todo;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(proc_, ec)) {
        auto pid = pidOf(entry.path());
        if (!pid)
            continue;
        auto st = statOf(proc_, *pid);
        if (!st)
            continue;
        all.emplace(*pid, *st);
        if (pidNamespaceOf(*pid, proc_) == ns_)
            todo.push_back(*pid);
    }
    // Descendants, whatever namespace they made for themselves.
    std::multimap<pid_t, pid_t> children;
    for (const auto& [pid, st] : all)
        children.emplace(st.ppid, pid);
    std::map<pid_t, std::uint64_t> found;
    while (!todo.empty()) {
        const pid_t pid = todo.back();
        todo.pop_back();
        if (!found.emplace(pid, all.at(pid).startTime).second)
            continue;
        for (auto [c, end] = children.equal_range(pid); c != end; ++c)
            todo.push_back(c->second);
    }
    for (const auto& [pid, start] : found)
        out.push_back({pid, start});
    return out;
}

std::uint64_t UnitProcesses::cpuTicks() const {
    std::uint64_t sum = 0;
    for (const auto& p : list())
        if (auto st = statOf(proc_, p.pid); st && st->startTime == p.startTime)
            sum += st->cpuTicks;
    return sum;
}

bool UnitProcesses::signal(const ProcessRef& p, int sig) const {
    base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0)));
    if (!pidfd)
        return false;
    // The pidfd names whatever process has the pid now: send only if that
    // is still the one listed.
    auto st = statOf(proc_, p.pid);
    if (!st || st->startTime != p.startTime)
        return false;
    return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
}

} // namespace swarm::sandbox

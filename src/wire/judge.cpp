#include "wire/judge.hpp"

#include "base/utf8.hpp"
#include "wire/messages.hpp"
#include "wire/peer_id.hpp"
#include "wire/records.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace swarm::wire {

namespace {

using Verdict = std::expected<void, Error>;

Verdict refuse(std::string_view field, std::string_view why) {
    return std::unexpected(Error(Error::Code::kRefused, fmt::format("{}: {}", field, why)));
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}
bool isLower(char c) {
    return (c >= 'a' && c <= 'z') || isDigit(c);
}
bool isHex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return isDigit(c) || (c >= 'a' && c <= 'f'); });
}

// One path component of an image name: [a-z0-9]+ joined by '.', '_', '__'
// or runs of '-'.
bool isNameComponent(std::string_view c) {
    if (c.empty() || !isLower(c.front()) || !isLower(c.back()))
        return false;
    return std::all_of(c.begin(), c.end(),
                       [](char ch) { return isLower(ch) || ch == '.' || ch == '_' || ch == '-'; });
}

// A registry host as an image name's first component: letters, digits,
// '.', '-', and an optional ":port"; "localhost" or with a '.' or a port
// (else it is a path component, as Docker reads references).
bool isHost(std::string_view c) {
    if (c != "localhost" && c.find_first_of(".:") == std::string_view::npos)
        return false;
    auto colon = c.find(':');
    auto host = c.substr(0, colon);
    if (host.empty() || host.front() == '-' || host.front() == '.')
        return false;
    bool hostOk = std::all_of(host.begin(), host.end(), [](char ch) {
        return isLower(ch) || (ch >= 'A' && ch <= 'Z') || ch == '.' || ch == '-';
    });
    if (colon == std::string_view::npos)
        return hostOk;
    auto port = c.substr(colon + 1);
    return hostOk && !port.empty() && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), isDigit);
}

bool isTag(std::string_view t) {
    if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-')
        return false;
    return std::all_of(t.begin(), t.end(), [](char c) {
        return isLower(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
    });
}

bool isImageName(std::string_view name) {
    bool first = true;
    while (true) {
        auto slash = name.find('/');
        auto part = name.substr(0, slash);
        const bool hostAllowed = first && slash != std::string_view::npos;
        if (!isNameComponent(part) && !(hostAllowed && isHost(part)))
            return false;
        if (slash == std::string_view::npos)
            return true;
        name.remove_prefix(slash + 1);
        first = false;
    }
}

bool allZero(const RawDigest& d) {
    return d == RawDigest{};
}

Verdict checkUnit(std::string_view type, const std::string& unitId, std::uint32_t replica) {
    if (!isSafeId(unitId))
        return refuse(fmt::format("{}.unitId", type),
                      fmt::format("'{}' is not a safe id (1-{} of A-Z a-z 0-9 . _ -, not "
                                  "starting with . or -)",
                                  excerpt(unitId), limits::kIdBytes));
    if (replica >= limits::kReplicas)
        return refuse(fmt::format("{}.replica", type),
                      fmt::format("{} is over {}", replica, limits::kReplicas - 1));
    return {};
}

Verdict checkMs(std::string_view field, std::int64_t ms) {
    if (ms < 0 || ms > limits::kMaxMs)
        return refuse(field, fmt::format("{} ms is not a time", ms));
    return {};
}

Verdict checkFileRefs(std::string_view field, const std::vector<FileRef>& refs,
                      std::size_t maxCount, bool zeroDigestOk) {
    if (refs.size() > maxCount)
        return refuse(field,
                      fmt::format("{} entries, over the limit of {}", refs.size(), maxCount));
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const auto& f = refs[i];
        const auto at = fmt::format("{}[{}]", field, i);
        if (auto ok = checkRelativePath(f.name); !ok)
            return refuse(at + ".name", fmt::format("'{}' {}", excerpt(f.name), ok.error()));
        if (!names.insert(f.name).second)
            return refuse(at + ".name", fmt::format("'{}' is listed twice", excerpt(f.name)));
        if (!zeroDigestOk && allZero(f.digest))
            return refuse(at + ".digest", "all zero");
        if (f.size > limits::kBlobBytes)
            return refuse(at + ".size", fmt::format("{} bytes, over the limit of {}", f.size,
                                                    limits::kBlobBytes));
    }
    return {};
}

Verdict checkCommand(const std::vector<std::string>& command) {
    if (command.size() > limits::kArgs)
        return refuse("assign.command", fmt::format("{} arguments, over the limit of {}",
                                                    command.size(), limits::kArgs));
    std::size_t total = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        total += command[i].size();
        if (command[i].find('\0') != std::string::npos)
            return refuse(fmt::format("assign.command[{}]", i), "contains NUL");
    }
    if (total > limits::kArgBytes)
        return refuse("assign.command",
                      fmt::format("{} bytes, over the limit of {}", total, limits::kArgBytes));
    return {};
}

bool isEnvName(std::string_view n) {
    if (n.empty() || n.size() > limits::kEnvNameBytes || isDigit(n.front()))
        return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    });
}

Verdict checkEnv(const std::map<std::string, std::string>& env) {
    if (env.size() > limits::kEnvEntries)
        return refuse("assign.env", fmt::format("{} entries, over the limit of {}", env.size(),
                                                limits::kEnvEntries));
    std::size_t total = 0;
    for (const auto& [name, value] : env) {
        if (!isEnvName(name))
            return refuse("assign.env", fmt::format("'{}' is not a variable name", excerpt(name)));
        if (value.find('\0') != std::string::npos)
            return refuse(fmt::format("assign.env.{}", name), "contains NUL");
        total += name.size() + value.size();
    }
    if (total > limits::kEnvBytes)
        return refuse("assign.env",
                      fmt::format("{} bytes, over the limit of {}", total, limits::kEnvBytes));
    return {};
}

Verdict checkImage(const Assign& a) {
    const bool shipped = !allZero(a.imageArchive);
    if (shipped && !a.image.empty())
        return refuse("assign.image", "both a reference and an archive");
    if (!shipped && !isImageReference(a.image))
        return refuse("assign.image",
                      fmt::format("'{}' is not an image reference", excerpt(a.image)));
    // A bare id could name what another submitter shipped: name the image
    // (a digest reference pins it) or ship it.
    const bool bareHex = a.image.find_first_of("/:@") == std::string::npos && isHex(a.image);
    if (!shipped && (a.image.starts_with("sha256:") || bareHex))
        return refuse("assign.image", "an image id is not accepted; give a name or ship the image");
    return {};
}

Verdict checkLimits(const Assign& a) {
    if (a.timeoutMs < 0 || a.timeoutMs > limits::kTimeoutMs)
        return refuse("assign.timeoutMs",
                      fmt::format("{} is not between 0 and {}", a.timeoutMs, limits::kTimeoutMs));
    if (a.memoryBytes != 0 &&
        (a.memoryBytes < limits::kMemoryMin || a.memoryBytes > limits::kMemoryMax))
        return refuse("assign.memoryBytes",
                      fmt::format("{} is not 0 or between {} and {}", a.memoryBytes,
                                  limits::kMemoryMin, limits::kMemoryMax));
    if (!std::isfinite(a.cpus) ||
        (a.cpus != 0 && (a.cpus < limits::kCpusMin || a.cpus > limits::kCpusMax)))
        return refuse("assign.cpus", fmt::format("{} is not 0 or between {} and {}", a.cpus,
                                                 limits::kCpusMin, limits::kCpusMax));
    if (a.pids != 0 && (a.pids < limits::kPidsMin || a.pids > limits::kPids))
        return refuse("assign.pids", fmt::format("{} is not 0 or between {} and {}", a.pids,
                                                 limits::kPidsMin, limits::kPids));
    return checkMs("assign.leaseExpiresMs", a.leaseExpiresMs);
}

Verdict checkOutputPatterns(const std::vector<std::string>& outputs) {
    if (outputs.size() > limits::kOutputPatterns)
        return refuse("assign.outputs", fmt::format("{} entries, over the limit of {}",
                                                    outputs.size(), limits::kOutputPatterns));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        std::string_view o = outputs[i];
        while (o.size() > 1 && o.ends_with('/'))
            o.remove_suffix(1); // "out/dir/" names a folder
        if (auto ok = checkRelativePath(o); !ok)
            return refuse(fmt::format("assign.outputs[{}]", i),
                          fmt::format("'{}' {}", excerpt(outputs[i]), ok.error()));
    }
    return {};
}

Verdict checkSlots(std::string_view field, std::uint32_t slots, std::uint32_t min) {
    if (slots < min || slots > limits::kSlots)
        return refuse(field,
                      fmt::format("{} is not between {} and {}", slots, min, limits::kSlots));
    return {};
}

} // namespace

bool isSafeId(std::string_view id) noexcept {
    if (id.empty() || id.size() > limits::kIdBytes || id.front() == '.' || id.front() == '-')
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '.' ||
               c == '_' || c == '-';
    });
}

std::expected<void, std::string> checkRelativePath(std::string_view name) {
    if (name.empty())
        return std::unexpected("is empty");
    if (name.size() > limits::kNameBytes)
        return std::unexpected(fmt::format("is longer than {} bytes", limits::kNameBytes));
    if (name.front() == '/')
        return std::unexpected("is absolute");
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u == 0)
            return std::unexpected("contains NUL");
        if (u < 0x20 || u == 0x7F)
            return std::unexpected("contains a control character");
        if (c == '\\')
            return std::unexpected("contains a backslash");
    }
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto slash = name.find('/', start);
        const auto end = slash == std::string_view::npos ? name.size() : slash;
        const auto part = name.substr(start, end - start);
        if (part.empty())
            return std::unexpected("has an empty component");
        if (part == "." || part == "..")
            return std::unexpected(fmt::format("has a '{}' component", part));
        if (part.size() > limits::kNameComponent)
            return std::unexpected(
                fmt::format("has a component longer than {} bytes", limits::kNameComponent));
        start = end + 1;
    }
    return {};
}

bool isImageReference(std::string_view ref) noexcept {
    if (ref.empty() || ref.size() > limits::kImageBytes)
        return false;
    if (ref.starts_with("sha256:"))
        return ref.size() == 7 + 64 && isHex(ref.substr(7));
    if (auto at = ref.find('@'); at != std::string_view::npos) {
        auto digest = ref.substr(at + 1);
        if (!digest.starts_with("sha256:") || digest.size() != 7 + 64 || !isHex(digest.substr(7)))
            return false;
        ref = ref.substr(0, at);
    }
    // A ':' after the last '/' starts the tag; one before it is a port.
    auto lastSlash = ref.rfind('/');
    auto colon = ref.find(':', lastSlash == std::string_view::npos ? 0 : lastSlash);
    if (colon != std::string_view::npos) {
        if (!isTag(ref.substr(colon + 1)))
            return false;
        ref = ref.substr(0, colon);
    }
    return isImageName(ref);
}

namespace {

// C0 controls but tab, DEL, and the C1 controls U+0080-009F (CSI among them).
bool isControl(std::string_view ch) {
    const auto c = static_cast<unsigned char>(ch[0]);
    if (ch.size() == 1)
        return (c < 0x20 && c != '\t') || c == 0x7F;
    return ch.size() == 2 && c == 0xC2 && static_cast<unsigned char>(ch[1]) < 0xA0;
}

} // namespace

void cleanText(std::string& text, std::size_t maxBytes) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
    std::string out;
    out.reserve(std::min(text.size(), maxBytes));
    std::vector<std::size_t> starts; // where each character of `out` begins
    bool cut = false;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t len = base::utf8Length(text, i);
        std::string_view piece = len == 0 ? kReplacement : std::string_view(text).substr(i, len);
        if (isControl(piece))
            piece = kReplacement;
        if (out.size() + piece.size() > maxBytes) {
            cut = true;
            break;
        }
        starts.push_back(out.size());
        out += piece;
        i += len == 0 ? 1 : len;
    }
    if (cut && maxBytes >= kEllipsis.size()) {
        while (!starts.empty() && out.size() + kEllipsis.size() > maxBytes) {
            out.resize(starts.back());
            starts.pop_back();
        }
        out += kEllipsis;
    }
    text = std::move(out);
}

std::string excerpt(std::string_view value, std::size_t maxBytes) {
    std::string out;
    for (char ch : value) {
        if (out.size() + 4 > maxBytes) {
            out += "…";
            break;
        }
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'')
            out += ch;
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

Verdict judge(Hello& m) {
    cleanText(m.software, limits::kSoftwareBytes);
    return checkSlots("hello.slots", m.slots, 0);
}

Verdict judge(RequestWork& m) {
    return checkSlots("request-work.slots", m.slots, 1);
}

Verdict judge(NoWork& m) {
    return checkSlots("no-work.slots", m.slots, 0);
}

Verdict judge(WorkReady&) {
    return {};
}

namespace {
// No file may be named as the directory of another ("a" and "a/b"): the
// files could not both be written.
Verdict checkNoFileUnderFile(std::string_view field, const std::vector<FileRef>& files) {
    std::set<std::string_view> names;
    for (const auto& f : files)
        names.insert(f.name);
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string_view n = files[i].name;
        for (auto slash = n.find('/'); slash != std::string_view::npos;
             slash = n.find('/', slash + 1))
            if (names.contains(n.substr(0, slash)))
                return refuse(fmt::format("{}[{}].name", field, i),
                              fmt::format("'{}' is below '{}', which is a file", excerpt(n),
                                          excerpt(n.substr(0, slash))));
    }
    return {};
}

Verdict checkInputNames(const std::vector<FileRef>& inputs) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].name.size() > limits::kInputNameBytes)
            return refuse(fmt::format("assign.inputs[{}].name", i),
                          fmt::format("longer than {} bytes", limits::kInputNameBytes));
    return checkNoFileUnderFile("assign.inputs", inputs);
}
} // namespace

Verdict judge(Assign& a) {
    for (auto check :
         {checkUnit("assign", a.unitId, a.replica), checkImage(a), checkCommand(a.command),
          checkEnv(a.env), checkFileRefs("assign.inputs", a.inputs, limits::kInputs, false),
          checkInputNames(a.inputs), checkOutputPatterns(a.outputs), checkLimits(a)})
        if (!check)
            return check;
    return {};
}

Verdict judge(NeedBlobs& m) {
    if (m.digests.empty() || m.digests.size() > limits::kDigests)
        return refuse("need-blobs.digests", fmt::format("{} entries, not between 1 and {}",
                                                        m.digests.size(), limits::kDigests));
    for (std::size_t i = 0; i < m.digests.size(); ++i)
        if (allZero(m.digests[i]))
            return refuse(fmt::format("need-blobs.digests[{}]", i), "all zero");
    return {};
}

Verdict judge(BlobChunk& m) {
    return judgeChunk(m.digest, m.offset, m.total, m.data.size());
}

Verdict judgeChunk(const RawDigest& digest, std::uint64_t offset, std::uint64_t total,
                   std::size_t dataBytes) {
    if (allZero(digest))
        return refuse("blob-chunk.digest", "all zero");
    if (total > limits::kBlobBytes)
        return refuse("blob-chunk.total",
                      fmt::format("{} bytes, over the limit of {}", total, limits::kBlobBytes));
    if (offset > total || dataBytes > total - offset)
        return refuse("blob-chunk.offset", fmt::format("{} + {} bytes runs past the total of {}",
                                                       offset, dataBytes, total));
    return {};
}

Verdict judge(Progress& m) {
    if (auto ok = checkUnit("progress", m.unitId, m.replica); !ok)
        return ok;
    static constexpr std::string_view kStates[] = {"fetching", "running", "uploading", "suspended"};
    if (std::find(std::begin(kStates), std::end(kStates), m.state) == std::end(kStates))
        return refuse("progress.state", fmt::format("'{}' is not a state", excerpt(m.state)));
    return checkMs("progress.elapsedMs", m.elapsedMs);
}

namespace {
Verdict checkOutputNames(const Result& r) {
    for (std::size_t i = 0; i < r.outputs.size(); ++i) {
        const auto& n = r.outputs[i].name;
        if (n != "stdout" && n != "stderr" && !n.starts_with("out/"))
            return refuse(fmt::format("result.outputs[{}].name", i),
                          fmt::format("'{}' is not stdout, stderr or below out/", excerpt(n)));
    }
    return {};
}

// A give-back is no result: it claims no exit, no verdict of the sandbox,
// and carries only the unit's checkpoint, which the submitter hands to the
// next replica as inputs below in/ckpt/.
Verdict checkGiveBack(const Result& r) {
    if (r.exitCode != -1)
        return refuse("result.givenBack", "a unit given back has no exit code");
    if (r.timedOut || r.oomKilled || r.refused)
        return refuse("result.givenBack",
                      "a unit given back is not also timed out, killed or refused");
    for (std::size_t i = 0; i < r.outputs.size(); ++i) {
        const auto& n = r.outputs[i].name;
        if (!n.starts_with("ckpt/") || n.size() > limits::kInputNameBytes)
            return refuse(fmt::format("result.outputs[{}].name", i),
                          fmt::format("'{}' is not a checkpoint file below ckpt/ (at most {} "
                                      "bytes)",
                                      excerpt(n), limits::kInputNameBytes));
    }
    return checkNoFileUnderFile("result.outputs", r.outputs);
}
} // namespace

Verdict judge(Result& r) {
    if (auto ok = checkUnit("result", r.unitId, r.replica); !ok)
        return ok;
    if (r.exitCode < -1 || r.exitCode > 255)
        return refuse("result.exitCode", fmt::format("{} is not between -1 and 255", r.exitCode));
    if (auto ok = checkMs("result.wallMs", r.wallMs); !ok)
        return ok;
    if (auto ok = checkFileRefs("result.outputs", r.outputs, limits::kResultOutputs, true); !ok)
        return ok;
    if (auto ok = r.givenBack ? checkGiveBack(r) : checkOutputNames(r); !ok)
        return ok;
    // A refusal is a claim that the unit never ran: it may carry no outputs
    // to vote with, and it must say why.
    if (r.refused && !r.outputs.empty())
        return refuse("result.refused", "a refused unit has no outputs");
    if (r.refused && r.error.empty())
        return refuse("result.refused", "a refusal needs its reason in result.error");
    cleanText(r.error, limits::kErrorBytes);
    return {};
}

Verdict judge(Cancel& m) {
    cleanText(m.reason, limits::kReasonBytes);
    return checkUnit("cancel", m.unitId, m.replica);
}

Verdict judge(Bye& m) {
    cleanText(m.reason, limits::kReasonBytes);
    if (m.givenBack.size() > limits::kGivenBack)
        return refuse("bye.givenBack", fmt::format("{} entries, over the limit of {}",
                                                   m.givenBack.size(), limits::kGivenBack));
    for (std::size_t i = 0; i < m.givenBack.size(); ++i) {
        const auto& g = m.givenBack[i];
        auto slash = g.rfind('/');
        auto replica =
            slash == std::string::npos ? std::string_view{} : std::string_view(g).substr(slash + 1);
        const bool number = !replica.empty() && replica.size() <= 5 &&
                            std::all_of(replica.begin(), replica.end(), isDigit) &&
                            std::stoul(std::string(replica)) < limits::kReplicas;
        if (!number || !isSafeId(std::string_view(g).substr(0, slash)))
            return refuse(fmt::format("bye.givenBack[{}]", i),
                          fmt::format("'{}' is not unit/replica", excerpt(g)));
    }
    return {};
}

Verdict judge(ErrorMsg& m) {
    cleanText(m.message, limits::kErrorBytes);
    return {};
}

namespace {
// An address as a relay observed it: empty, or a numeric "a.b.c.d:port" or
// "[ipv6]:port" (a peer punches toward it: no name to resolve).
bool isObservedAddress(std::string_view text) {
    std::string host;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find("]:");
        if (close == std::string_view::npos)
            return false;
        host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return false;
        host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    unsigned char bytes[16];
    const bool v6 = text.starts_with('[');
    if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), bytes) != 1)
        return false;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    return ec == std::errc() && end == port.data() + port.size() && value > 0 && value <= 65535;
}

Verdict checkObserved(std::string_view field, const std::string& address) {
    if (!address.empty() && (address.size() > 64 || !isObservedAddress(address)))
        return refuse(field, fmt::format("'{}' is not an address", excerpt(address)));
    return {};
}

Verdict checkPeerId(std::string_view field, const std::string& id) {
    if (auto parsed = PeerId::parse(id); !parsed)
        return refuse(field,
                      fmt::format("'{}' is not a peer id: {}", excerpt(id), parsed.error().what));
    return {};
}

Verdict checkSpan(std::string_view field, std::int64_t value) {
    if (value < 0 || value > limits::kMaxMs)
        return refuse(field, fmt::format("{} is out of range", value));
    return {};
}
} // namespace

Verdict judge(RelayReserve&) {
    return {};
}

Verdict judge(RelayReserved& m) {
    if (auto ok = checkSpan("relay-reserved.ttlMs", m.ttlMs); !ok)
        return ok;
    return checkObserved("relay-reserved.observed", m.observed);
}

Verdict judge(RelayConnect& m) {
    return checkPeerId("relay-connect.target", m.target);
}

Verdict judge(RelayIncoming& m) {
    if (auto ok = checkPeerId("relay-incoming.from", m.from); !ok)
        return ok;
    return checkObserved("relay-incoming.fromObserved", m.fromObserved);
}

Verdict judge(RelayAccept&) {
    return {};
}

Verdict judge(RelayOpened& m) {
    if (auto ok = checkObserved("relay-opened.peerObserved", m.peerObserved); !ok)
        return ok;
    if (auto ok = checkObserved("relay-opened.observed", m.observed); !ok)
        return ok;
    if (auto ok = checkSpan("relay-opened.maxBytes", m.maxBytes); !ok)
        return ok;
    return checkSpan("relay-opened.maxDurationMs", m.maxDurationMs);
}

Verdict judge(PunchPlan&) {
    return {};
}

Verdict judge(PunchResult&) {
    return {};
}

Verdict judge(RelayData&) {
    return {};
}

Verdict judge(Follow& m) {
    return checkUnit("follow", m.unitId, m.replica);
}

Verdict judge(LogChunk& m) {
    if (auto ok = checkUnit("log-chunk", m.unitId, m.replica); !ok)
        return ok;
    if (m.stream != "stdout" && m.stream != "stderr")
        return refuse("log-chunk.stream",
                      fmt::format("'{}' is not stdout or stderr", excerpt(m.stream)));
    if (m.data.size() > limits::kLogChunkBytes)
        return refuse("log-chunk.data", fmt::format("{} bytes, over the limit of {}", m.data.size(),
                                                    limits::kLogChunkBytes));
    if (m.offset > limits::kBlobBytes || m.data.size() > limits::kBlobBytes - m.offset)
        return refuse("log-chunk.offset", fmt::format("{} + {} bytes runs past {}", m.offset,
                                                      m.data.size(), limits::kBlobBytes));
    return {};
}

namespace {
// Endpoint texts: at most `count`, each 1..`bytes` printable ASCII, no spaces.
Verdict checkEndpoints(std::string_view field, const std::vector<std::string>& endpoints,
                       std::size_t count, std::size_t bytes) {
    if (endpoints.size() > count)
        return refuse(field, fmt::format("{} entries, over {}", endpoints.size(), count));
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const auto& e = endpoints[i];
        const bool printable = std::all_of(e.begin(), e.end(), [](char c) {
            return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F;
        });
        if (e.empty() || e.size() > bytes || !printable)
            return refuse(fmt::format("{}[{}]", field, i),
                          fmt::format("'{}' is not an endpoint", excerpt(e)));
    }
    return {};
}
} // namespace

Verdict judge(CapacityRecord& r) {
    for (auto* text : {&r.arch, &r.os, &r.podman, &r.software})
        cleanText(*text, 64);
    for (auto& label : r.labels)
        cleanText(label, 64);
    if (r.slots > limits::kSlots)
        return refuse("capacity.slots", fmt::format("{} is over {}", r.slots, limits::kSlots));
    if (r.freeSlots > r.slots)
        return refuse("capacity.freeSlots",
                      fmt::format("{} is more than the {} slots", r.freeSlots, r.slots));
    if (!r.reach.empty() && r.reach != kReachPublic && r.reach != kReachBehindNat)
        return refuse("capacity.reach",
                      fmt::format("'{}' is not \"{}\", \"{}\" or empty", excerpt(r.reach),
                                  kReachPublic, kReachBehindNat));
    return checkEndpoints("capacity.relays", r.relays, 4, 64);
}

Verdict judge(Offer& o) {
    cleanText(o.jobId, 128);
    if (!o.batchId.empty() && (o.batchId.size() != 32 || !isHex(o.batchId)))
        return refuse("offer.batchId",
                      fmt::format("'{}' is not 32 lower-case hex digits", excerpt(o.batchId)));
    return checkEndpoints("offer.endpoints", o.endpoints, 16, 256);
}

} // namespace swarm::wire

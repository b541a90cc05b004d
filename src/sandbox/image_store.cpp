#include "sandbox/image_store.hpp"

#include "base/sha256.hpp"
#include "base/unique_fd.hpp"
#include "sandbox/image_archive.hpp"
#include "sandbox/podman_client.hpp"
#include "sandbox/podman_json.hpp"
#include "sandbox/podman_request.hpp"
#include "wire/log.hpp"

#include <fcntl.h>
#include <json/json.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <system_error>

namespace swarm::sandbox {

namespace {

using namespace std::chrono_literals;
using Code = wire::Error::Code;
const wire::Logger kLog("sandbox");

constexpr std::string_view kShippedRepo = "swarm-shipped";

// A file mapped read-only: its pages are the page cache's, which the
// kernel reclaims, so an image archive of any size costs no memory of ours.
class MappedFile {
public:
    explicit MappedFile(int fd, std::size_t size) : size_(size) {
        if (size_ == 0)
            return;
        data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data_ == MAP_FAILED)
            throw std::system_error(errno, std::generic_category(), "mmap");
    }
    ~MappedFile() {
        if (data_ != nullptr && data_ != MAP_FAILED)
            ::munmap(data_, size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    wire::ByteView view() const {
        return {static_cast<const std::uint8_t*>(data_), data_ ? size_ : 0};
    }

private:
    void* data_ = nullptr;
    std::size_t size_;
};

void writeAll(int fd, wire::ByteView data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "write the untagged archive");
        data = data.subspan(static_cast<std::size_t>(n));
    }
}

// The archive verified against `digest` and untagged (untagImageArchive)
// into an unnamed temporary file, read back from its start; the image id.
// Streamed from disk to disk: memory stays small whatever the size.
std::expected<std::pair<base::UniqueFd, std::string>, wire::Error>
untaggedCopy(const std::filesystem::path& archive, const wire::Digest& digest) {
    base::UniqueFd in(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        return std::unexpected(wire::Error(Code::kIo, "cannot open " + archive.string()));
    const auto hashed = base::hashFd(in.get(), archive.string());
    if (wire::Digest{hashed.digest} != digest)
        return std::unexpected(
            wire::Error(Code::kBadSignature, "image archive does not match " + digest.str()));
    const MappedFile mapped(in.get(), hashed.size);
    base::UniqueFd out(::open(std::filesystem::temp_directory_path().c_str(),
                              O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!out)
        throw std::system_error(errno, std::generic_category(), "temporary file");
    auto id =
        untagImageArchive(mapped.view(), [&](wire::ByteView chunk) { writeAll(out.get(), chunk); });
    if (!id)
        return std::unexpected(id.error());
    if (::lseek(out.get(), 0, SEEK_SET) != 0)
        throw std::system_error(errno, std::generic_category(), "lseek");
    return std::pair{std::move(out), std::move(*id)};
}

} // namespace

bool isReservedImageName(std::string_view reference) {
    std::string ref(reference);
    std::transform(ref.begin(), ref.end(), ref.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // Podman also looks references up through its storage transport:
    // "containers-storage:[driver@root+run]localhost/...".
    if (ref.starts_with("containers-storage:"))
        ref.erase(0, std::string_view("containers-storage:").size());
    if (ref.starts_with('[') && ref.find(']') != std::string::npos)
        ref.erase(0, ref.find(']') + 1);
    if (ref.starts_with("localhost/"))
        ref.erase(0, std::string_view("localhost/").size());
    return ref.starts_with(kShippedRepo) &&
           (ref.size() == kShippedRepo.size() ||
            std::string_view("/:@").find(ref[kShippedRepo.size()]) != std::string_view::npos);
}

std::string shippedImageName(std::string_view owner, const wire::Digest& archive) {
    std::string name;
    for (unsigned char c : owner.substr(0, 64))
        name += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
    name.erase(0, name.find_first_not_of('-'));
    name.erase(name.find_last_not_of('-') + 1);
    if (name.empty())
        name = "unknown";
    return "localhost/" + std::string(kShippedRepo) + "/" + name + ":" +
           archive.str().substr(7, 16);
}

bool ImagePolicy::allows(std::string_view reference) const {
    if (requireDigestForPull && reference.find("@sha256:") == std::string_view::npos)
        return false;
    for (const auto& a : allowPull) {
        if (a.empty())
            continue;
        if (reference == a)
            return true;
        if ((a.back() == '/' || a.back() == ':') && reference.starts_with(a))
            return true;
        // An allowed "name" also admits "name@sha256:..." and "name:tag".
        if (reference.starts_with(a) && reference.size() > a.size() &&
            (reference[a.size()] == '@' || reference[a.size()] == ':'))
            return true;
    }
    return false;
}

ImageStore::ImageStore(std::filesystem::path socket, ImagePolicy policy)
    : socket_(std::move(socket)), policy_(std::move(policy)) {}

std::optional<std::string> ImageStore::find(std::string_view reference) {
    PodmanClient client(socket_);
    std::string ref(reference);
    std::string wantDigest;
    if (auto at = ref.find("@sha256:"); at != std::string::npos)
        wantDigest = ref.substr(at + 1);
    auto r = client.call(request("GET", "/images/" + PodmanClient::escape(ref) + "/json"));
    if (r.status == 404)
        return std::nullopt;
    if (r.status != 200)
        throw base::Failure(base::podmanErrcForStatus(r.status),
                            "podman: image inspect " + ref + ": HTTP " + std::to_string(r.status));
    auto v = parsePodmanJson(r.body);
    if (!wantDigest.empty()) {
        bool match = v["Digest"].asString() == wantDigest;
        for (const auto& d : v["RepoDigests"])
            match = match || d.asString().ends_with("@" + wantDigest);
        if (!match)
            return std::nullopt;
    }
    return v["Id"].asString();
}

std::expected<std::string, wire::Error> ImageStore::ensure(std::string_view reference) {
    // Only load() names images there: a reference could otherwise pick
    // another submitter's shipped image.
    if (isReservedImageName(reference))
        return std::unexpected(
            wire::Error(Code::kUntrusted, "image '" + std::string(reference) +
                                              "' is in the worker's reserved namespace"));
    if (auto id = find(reference))
        return *id;
    if (!policy_.allows(reference))
        return std::unexpected(wire::Error(
            policy_.allowPull.empty() ? Code::kNotFound : Code::kUntrusted,
            "image '" + std::string(reference) + "' is not local and policy forbids pulling it"));
    PodmanClient client(socket_);
    kLog.info("pulling {}", reference);
    auto r = client.call(request("POST",
                                 "/images/pull?quiet=true&policy=always&reference=" +
                                     PodmanClient::escape(reference),
                                 600s));
    if (r.status != 200)
        return std::unexpected(wire::Error(Code::kNotFound, "pull " + std::string(reference) +
                                                                " failed: HTTP " +
                                                                std::to_string(r.status)));
    if (auto id = find(reference))
        return *id;
    return std::unexpected(
        wire::Error(Code::kNotFound, "pulled " + std::string(reference) + " but cannot find it"));
}

std::expected<std::string, wire::Error> ImageStore::load(const std::filesystem::path& archive,
                                                         const wire::Digest& digest,
                                                         std::string_view owner) {
    // An archive's own names would be applied by Podman, moving a tag other
    // submitters (and the probe) use onto this image: remove them all.
    auto copy = untaggedCopy(archive, digest);
    if (!copy)
        return std::unexpected(copy.error());
    auto& [file, id] = *copy;
    struct stat st {};
    if (::fstat(file.get(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), "fstat");
    PodmanClient client(socket_);
    PodmanClient::Request r = request("POST", "/images/load", 600s);
    r.bodyFile = file.get();
    r.bodyFileSize = static_cast<std::uint64_t>(st.st_size);
    r.contentType = "application/x-tar";
    auto resp = client.call(r);
    if (resp.status != 200)
        return std::unexpected(
            wire::Error(Code::kMalformed,
                        "podman refused the image archive: HTTP " + std::to_string(resp.status)));
    // Untagged, Podman answers {"Names":["sha256:<id>"]} (Podman 4.3).
    const auto reply = parsePodmanJson(resp.body);
    const bool named = reply.isObject() && reply["Names"].isArray() &&
                       std::any_of(reply["Names"].begin(), reply["Names"].end(), [&](auto& n) {
                           return n.isString() && n.asString() == "sha256:" + id;
                       });
    if (!named)
        return std::unexpected(
            wire::Error(Code::kMalformed, "podman did not load image " + id + " from the archive"));
    const auto name = shippedImageName(owner, digest);
    const auto colon = name.rfind(':');
    auto tagged = client.call(request(
        "POST", "/images/" + id + "/tag?repo=" + PodmanClient::escape(name.substr(0, colon)) +
                    "&tag=" + name.substr(colon + 1)));
    if (tagged.status != 201)
        throw base::Failure(tagged.status == 404 ? base::PodmanErrc::kImageMissing
                                                 : base::podmanErrcForStatus(tagged.status),
                            "podman: tag " + id + " as " + name + ": HTTP " +
                                std::to_string(tagged.status));
    kLog.info("loaded image {} from {} as {}", id, digest.str(), name);
    return id;
}

std::uint64_t ImageStore::sizeOf(std::string_view reference) {
    PodmanClient client(socket_);
    const std::string ref(reference);
    auto r = client.call(request("GET", "/images/" + PodmanClient::escape(ref) + "/json"));
    if (r.status == 404)
        return 0;
    if (r.status != 200)
        throw base::Failure(base::podmanErrcForStatus(r.status),
                            "podman: image inspect " + ref + ": HTTP " + std::to_string(r.status));
    const auto size = parsePodmanJson(r.body)["Size"];
    return size.isNumeric() && size.asInt64() > 0 ? size.asUInt64() : 0;
}

bool ImageStore::remove(std::string_view name) {
    PodmanClient client(socket_);
    const std::string ref(name);
    // Never forced: a container using the image keeps it (409).
    auto r = client.call(request("DELETE", "/images/" + PodmanClient::escape(ref)));
    if (r.status == 200 || r.status == 404)
        return true;
    if (r.status == 409)
        return false;
    throw base::Failure(base::podmanErrcForStatus(r.status),
                        "podman: remove image " + ref + ": HTTP " + std::to_string(r.status));
}

} // namespace swarm::sandbox

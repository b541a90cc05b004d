#include "sandbox/image_archive.hpp"

#include "base/json_writer.hpp"
#include "sandbox/safe_fs.hpp"
#include "sandbox/tar_reader.hpp"
#include "sandbox/tar_writer.hpp"
#include "wire/digest.hpp"

#include <json/json.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>

namespace swarm::sandbox {

namespace {

using Code = wire::Error::Code;

constexpr std::uint32_t kMaxArchiveEntries = 100'000;
constexpr std::size_t kMaxJsonBytes = 1 << 20; // manifest.json, index.json, configs

std::unexpected<wire::Error> malformed(std::string what) {
    return std::unexpected(wire::Error(Code::kMalformed, "image archive: " + std::move(what)));
}

// The members of an image archive, judged once: safe relative paths
// (normalised in `entries`), no duplicates, nothing below a symlink, only
// regular files ('0'), directories, symlinks and hard links.
struct Members {
    wire::ByteView tar;
    std::vector<TarEntry> entries;
    std::map<std::string, std::size_t, std::less<>> byPath;

    // The regular file at `path`, or nullptr.
    const TarEntry* file(std::string_view path) const {
        auto it = byPath.find(path);
        return it != byPath.end() && entries[it->second].type == '0' ? &entries[it->second]
                                                                     : nullptr;
    }
    std::string content(const TarEntry& e) const {
        return std::string(reinterpret_cast<const char*>(tar.data() + e.dataOffset), e.size);
    }
};

// A relative symlink target that, read from the link's directory, names a
// path inside the archive (docker-archive's legacy `<id>/layer.tar ->
// ../<hex>.tar`).
bool staysInside(const std::string& link, std::string_view target) {
    if (target.empty() || target.front() == '/')
        return false;
    std::vector<std::string_view> parts;
    std::string_view dir = link;
    for (auto slash = dir.find('/'); slash != std::string_view::npos; slash = dir.find('/')) {
        parts.push_back(dir.substr(0, slash)); // the link's own name is not a directory
        dir.remove_prefix(slash + 1);
    }
    while (!target.empty()) {
        const auto slash = target.find('/');
        const auto part = target.substr(0, slash);
        target.remove_prefix(slash == std::string_view::npos ? target.size() : slash + 1);
        if (part == "..") {
            if (parts.empty())
                return false;
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
    }
    return !parts.empty();
}

std::expected<void, wire::Error> judge(TarEntry& e) {
    auto path = normaliseArchivePath(e.path);
    if (!path)
        return malformed("unsafe path '" + e.path + "'");
    e.path = *path;
    e.type = e.type == '7' ? '0' : e.type;
    if (e.type != '0' && e.type != '5' && e.type != '2' && e.type != '1')
        return malformed(std::string("entry type '") + e.type + "' of '" + e.path + "' refused");
    if (e.path.empty() && e.type != '5')
        return malformed("root entry is not a directory");
    if (e.type == '2' && !staysInside(e.path, e.linkTarget))
        return malformed("symlink '" + e.path + "' -> '" + e.linkTarget + "' refused");
    if (e.type == '1') {
        auto target = normaliseArchivePath(e.linkTarget);
        if (!target || target->empty())
            return malformed("hard link '" + e.path + "' -> '" + e.linkTarget + "' refused");
        e.linkTarget = *target;
    }
    return {};
}

std::expected<Members, wire::Error> readMembers(wire::ByteView tar) {
    auto listed = listTar(tar, kMaxArchiveEntries);
    if (!listed)
        return malformed(listed.error().what);
    Members m{tar, std::move(*listed), {}};
    std::set<std::string> links;
    for (std::size_t i = 0; i < m.entries.size(); ++i) {
        auto& e = m.entries[i];
        if (auto ok = judge(e); !ok)
            return std::unexpected(ok.error());
        if (e.path.empty())
            continue;
        auto [it, fresh] = m.byPath.emplace(e.path, i);
        if (!fresh && (e.type != '5' || m.entries[it->second].type != '5'))
            return malformed("duplicate entry '" + e.path + "'");
        if (e.type == '2')
            links.insert(e.path);
    }
    // Podman unpacks an oci-archive to disk: a file below a symlink could
    // land anywhere in it (index.json, say), whatever its name here.
    for (const auto& e : m.entries)
        for (auto up = parentOf(e.path); !up.empty(); up = parentOf(up))
            if (links.contains(up))
                return malformed("entry '" + e.path + "' below symlink '" + up + "'");
    return m;
}

std::optional<Json::Value> parseStrictJson(const std::string& text) {
    if (text.size() > kMaxJsonBytes)
        return std::nullopt;
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_); // also refuses duplicate keys
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errs;
    try { // jsoncpp throws past its nesting limit
        if (!r->parse(text.data(), text.data() + text.size(), &v, &errs))
            return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return v;
}

base::JsonObject jsonObject(const Json::Value& v);
base::JsonArray jsonArray(const Json::Value& v);

// Adds the parsed value `v` to an object (under `key...`) or an array.
// jsoncpp's own writer is not used: it passes invalid UTF-8 through, or
// with emitUTF8 off decodes it wrongly (docs/architecture.md).
template <typename Builder, typename... Key>
void addParsed(Builder& out, const Json::Value& v, const Key&... key) {
    switch (v.type()) {
    case Json::nullValue:
        out.addNull(key...);
        break;
    case Json::intValue:
        out.add(key..., v.asInt64());
        break;
    case Json::uintValue:
        out.add(key..., v.asUInt64());
        break;
    case Json::realValue:
        out.add(key..., v.asDouble());
        break;
    case Json::stringValue:
        out.add(key..., v.asString());
        break;
    case Json::booleanValue:
        out.add(key..., v.asBool());
        break;
    case Json::arrayValue:
        out.add(key..., jsonArray(v));
        break;
    case Json::objectValue:
        out.add(key..., jsonObject(v));
        break;
    }
}

base::JsonObject jsonObject(const Json::Value& v) {
    base::JsonObject out;
    for (const auto& name : v.getMemberNames())
        addParsed(out, v[name], name);
    return out;
}

base::JsonArray jsonArray(const Json::Value& v) {
    base::JsonArray out;
    for (const auto& element : v)
        addParsed(out, element);
    return out;
}

// The compact text of a parsed object or array.
std::string compactJson(const Json::Value& v) {
    return v.isArray() ? jsonArray(v).str() : jsonObject(v).str();
}

// The members of object `from` spelt exactly as `keys`; nothing else (Go's
// JSON decoding matches keys case-insensitively: a copy of the known keys is
// the only way to be sure no "repotags" slips through).
Json::Value only(const Json::Value& from, std::initializer_list<const char*> keys) {
    Json::Value out(Json::objectValue);
    for (const char* k : keys)
        if (from.isMember(k))
            out[k] = from[k];
    return out;
}

// The hex of "sha256:<64 lower-case hex>", else nullopt.
std::optional<std::string> sha256Hex(const Json::Value& digest) {
    if (!digest.isString())
        return std::nullopt;
    const auto s = digest.asString();
    if (s.size() != 71 || !s.starts_with("sha256:") ||
        !std::all_of(s.begin() + 7, s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        return std::nullopt;
    return s.substr(7);
}

// The image id of the config at `path`: the SHA-256 of its bytes, which is
// what containers/image gives the image it stores.
std::expected<std::string, wire::Error> configId(const Members& m, const std::string& path) {
    auto norm = normaliseArchivePath(path);
    const TarEntry* e = norm ? m.file(*norm) : nullptr;
    if (e == nullptr)
        return malformed("image config '" + path + "' is not a file in the archive");
    return wire::sha256(m.tar.subspan(e->dataOffset, e->size)).str().substr(7);
}

// Podman reuses a layer it already stores when the archive names its digest,
// without reading the archive's copy: an archive citing another image's
// layers would run on them. So every layer must be a regular file in the
// archive whose content is what it is named by: in a docker-archive the
// config's diff_id (layers there are uncompressed), in an OCI layout its
// blob name (`named`; layers there may be compressed).
// In an OCI layout a blob's name is its digest, which Podman reuses by:
// there the name must be the content's hash too (`named`).
std::expected<void, wire::Error> checkLayers(const Members& m, const std::string& configPath,
                                             const std::vector<std::string>& layers, bool named) {
    auto norm = normaliseArchivePath(configPath);
    const TarEntry* file = norm ? m.file(*norm) : nullptr;
    const auto config = file ? parseStrictJson(m.content(*file)) : std::nullopt;
    if (!config || !config->isObject() || !(*config)["rootfs"].isObject())
        return malformed("image config '" + configPath + "' is not an image config");
    const Json::Value& diffIds = (*config)["rootfs"]["diff_ids"];
    if (!diffIds.isArray() || diffIds.size() != layers.size())
        return malformed("image config '" + configPath + "' does not list one diff_id per layer");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        auto path = normaliseArchivePath(layers[i]);
        const TarEntry* layer = path ? m.file(*path) : nullptr;
        if (layer == nullptr)
            return malformed("layer '" + layers[i] + "' is not a file in the archive");
        const auto got = wire::sha256(m.tar.subspan(layer->dataOffset, layer->size)).str();
        if (named) {
            if (*path != "blobs/sha256/" + got.substr(7))
                return malformed("blob '" + layers[i] + "' does not hash to its name");
            continue;
        }
        const auto want = sha256Hex(diffIds[static_cast<Json::ArrayIndex>(i)]);
        if (!want || got != "sha256:" + *want)
            return malformed("layer '" + layers[i] +
                             "' is not the uncompressed layer its config names");
    }
    return {};
}

// A name-carrying file rewritten without names, and the id of the image it
// describes.
struct Untagged {
    std::string json;
    std::string imageId;
};

// docker-archive: one image; manifest.json keeps its Config and Layers,
// never RepoTags (nor Parent or LayerSources, which a load does not need).
std::expected<Untagged, wire::Error> untagDockerManifest(const Members& m,
                                                         const std::string& text) {
    const auto v = parseStrictJson(text);
    if (!v || !v->isArray() || v->size() != 1)
        return malformed("manifest.json must list exactly one image");
    const Json::Value& image = (*v)[0];
    if (!image.isObject() || !image["Config"].isString() || !image["Layers"].isArray())
        return malformed("the image in manifest.json has no Config or Layers");
    std::vector<std::string> layers;
    for (const auto& l : image["Layers"]) {
        if (!l.isString())
            return malformed("manifest.json: a layer is not a path");
        layers.push_back(l.asString());
    }
    if (auto ok = checkLayers(m, image["Config"].asString(), layers, false); !ok)
        return std::unexpected(ok.error());
    auto id = configId(m, image["Config"].asString());
    if (!id)
        return std::unexpected(id.error());
    Json::Value out(Json::arrayValue);
    out.append(only(image, {"Config", "Layers"}));
    return Untagged{compactJson(out), *id};
}

// An image manifest, not an index or list (whose nested manifests Podman
// would load too). An absent mediaType is OCI's image manifest.
bool isImageManifestType(const Json::Value& type) {
    return type.isNull() ||
           (type.isString() &&
            (type.asString() == "application/vnd.oci.image.manifest.v1+json" ||
             type.asString() == "application/vnd.docker.distribution.manifest.v2+json"));
}

// oci-archive: index.json keeps one manifest descriptor without its
// annotations (org.opencontainers.image.ref.name and
// io.containerd.image.name are where Podman finds names).
std::expected<Untagged, wire::Error> untagOciIndex(const Members& m, const std::string& text) {
    const auto v = parseStrictJson(text);
    if (!v || !v->isObject() || !(*v)["manifests"].isArray())
        return malformed("index.json lists no manifests");
    const Json::Value& manifests = (*v)["manifests"];
    if (manifests.size() != 1)
        return malformed("index.json lists " + std::to_string(manifests.size()) +
                         " manifests; ship one image");
    const Json::Value& descriptor = manifests[0];
    const auto hex = descriptor.isObject() ? sha256Hex(descriptor["digest"]) : std::nullopt;
    const TarEntry* blob = hex ? m.file("blobs/sha256/" + *hex) : nullptr;
    const auto manifest = blob ? parseStrictJson(m.content(*blob)) : std::nullopt;
    std::optional<std::string> config;
    if (manifest && manifest->isObject() && (*manifest)["config"].isObject() &&
        (*manifest)["layers"].isArray() && isImageManifestType((*manifest)["mediaType"]))
        config = sha256Hex((*manifest)["config"]["digest"]);
    if (!config)
        return malformed("index.json names no image manifest with a config and layers");
    std::vector<std::string> layers;
    for (const auto& l : (*manifest)["layers"]) {
        const auto layerHex = l.isObject() ? sha256Hex(l["digest"]) : std::nullopt;
        if (!layerHex)
            return malformed("index.json: a layer of the manifest has no sha256 digest");
        layers.push_back("blobs/sha256/" + *layerHex);
    }
    if (auto ok = checkLayers(m, "blobs/sha256/" + *config, layers, true); !ok)
        return std::unexpected(ok.error());
    auto id = configId(m, "blobs/sha256/" + *config);
    if (!id)
        return std::unexpected(id.error());
    Json::Value out = only(*v, {"schemaVersion", "mediaType"});
    out["manifests"].append(only(descriptor, {"mediaType", "digest", "size", "platform"}));
    return Untagged{compactJson(out), *id};
}

bool carriesNames(std::string_view path) {
    return path == "manifest.json" || path == "index.json" || path == "repositories";
}

// Writes the members of `entries` to `w` as a plain ustar archive (each
// header written afresh by TarWriter, so Podman reads exactly the paths
// judged here, whatever pax or GNU headers said) without the files that
// carry names, followed by `extra` files. `tar()` gives the archive the
// entries' data lie in, asked again before each member (in place, the
// buffer may have moved).
template <typename View>
std::expected<void, wire::Error>
rewrite(const View& tar, const std::vector<TarEntry>& entries,
        const std::vector<std::pair<std::string, std::string>>& extra, TarWriter& w) {
    try {
        for (const auto& e : entries) {
            if (e.path.empty() || carriesNames(e.path))
                continue;
            switch (e.type) {
            case '5':
                w.addDirectory(e.path, 0755);
                break;
            case '2':
                w.addSymlink(e.path, e.linkTarget, 0777);
                break;
            case '1':
                w.addHardLink(e.path, e.linkTarget, 0644);
                break;
            default:
                w.addFile(e.path, tar().subspan(e.dataOffset, e.size), 0644);
            }
        }
        for (const auto& [path, text] : extra)
            w.addFile(path, wire::asBytes(text), 0644);
        w.finish();
    } catch (const std::invalid_argument& refused) {
        return malformed(std::string(refused.what()) + " (does not fit a ustar header)");
    }
    return {};
}

// Works out the files that replace the name-carrying ones, and the image
// id. The OCI layout's image wins when there are both: Podman tries
// oci-archive first.
std::expected<std::string, wire::Error>
untagPlan(const Members& m, std::vector<std::pair<std::string, std::string>>& extra) {
    std::optional<std::string> id;
    for (const char* name : {"manifest.json", "index.json"}) {
        if (!m.byPath.contains(name))
            continue;
        const TarEntry* file = m.file(name);
        if (file == nullptr)
            return malformed(std::string(name) + " is not a regular file");
        const bool oci = name == std::string_view("index.json");
        auto untagged =
            oci ? untagOciIndex(m, m.content(*file)) : untagDockerManifest(m, m.content(*file));
        if (!untagged)
            return std::unexpected(untagged.error());
        extra.emplace_back(name, std::move(untagged->json));
        id = oci || !id ? untagged->imageId : *id;
    }
    if (!id)
        return malformed("neither manifest.json (docker-archive) nor index.json (oci-archive)");
    return *id;
}

} // namespace

std::expected<std::string, wire::Error> untagImageArchive(std::string& tar) {
    auto m = readMembers(wire::asBytes(tar));
    if (!m)
        return std::unexpected(m.error());
    std::vector<std::pair<std::string, std::string>> extra;
    auto id = untagPlan(*m, extra);
    if (!id)
        return id;
    // Every member shrinks or keeps its size and the writer only emits
    // bytes it has read, so the output never overtakes a member not yet
    // moved; memmove copes with the overlap.
    std::size_t out = 0;
    TarWriter w([&](wire::ByteView chunk) {
        if (out + chunk.size() > tar.size())
            tar.resize(out + chunk.size()); // the tail: the last padding, `extra`, the marker
        std::memmove(tar.data() + out, chunk.data(), chunk.size());
        out += chunk.size();
    });
    if (auto ok = rewrite([&] { return wire::asBytes(tar); }, m->entries, extra, w); !ok)
        return std::unexpected(ok.error());
    tar.resize(out);
    return id;
}

std::expected<std::string, wire::Error> untagImageArchive(wire::ByteView tar,
                                                          const TarWriter::Sink& out) {
    auto m = readMembers(tar);
    if (!m)
        return std::unexpected(m.error());
    std::vector<std::pair<std::string, std::string>> extra;
    auto id = untagPlan(*m, extra);
    if (!id)
        return id;
    TarWriter w(out);
    if (auto ok = rewrite([tar] { return tar; }, m->entries, extra, w); !ok)
        return std::unexpected(ok.error());
    return id;
}

} // namespace swarm::sandbox

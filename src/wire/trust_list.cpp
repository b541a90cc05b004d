#include "wire/trust_list.hpp"

#include "wire/home.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace swarm::wire {

namespace {
Error malformed(std::string_view source, const toml::source_region& where, std::string why) {
    return Error(Error::Code::kMalformed,
                 std::string(source) + ":" + std::to_string(where.begin.line) + ": " + why);
}

bool validAlias(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    if (name.starts_with(PeerId::kPrefix) && name.size() == PeerId::kLength)
        return false; // would be ambiguous with an id in 'remove'
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

std::string tomlString(std::string_view s) {
    std::ostringstream out;
    out << toml::value<std::string>(std::string(s));
    return out.str();
}
} // namespace

std::expected<TrustList, Error> TrustList::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec))
            return TrustList{};
        return std::unexpected(Error(Error::Code::kIo, "cannot read " + path.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path.string());
}

std::expected<TrustList, Error> TrustList::parse(std::string_view text, std::string_view source) {
    toml::table doc;
    try {
        doc = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return std::unexpected(malformed(source, e.source(), std::string(e.description())));
    }
    TrustList list;
    for (auto&& [key, node] : doc) {
        if (key.str() != "peer")
            return std::unexpected(malformed(source, node.source(),
                                             "unknown key '" + std::string(key.str()) +
                                                 "' (expected [[peer]] entries)"));
    }
    auto* peers = doc.get("peer");
    if (peers == nullptr)
        return list;
    auto* array = peers->as_array();
    if (array == nullptr)
        return std::unexpected(
            malformed(source, peers->source(), "'peer' must be an array of tables ([[peer]])"));
    for (auto& item : *array) {
        auto* table = item.as_table();
        if (table == nullptr)
            return std::unexpected(malformed(source, item.source(), "[[peer]] must be a table"));
        TrustEntry entry;
        bool haveId = false;
        for (auto&& [key, value] : *table) {
            if (key.str() == "id") {
                auto s = value.value<std::string>();
                if (!s)
                    return std::unexpected(
                        malformed(source, value.source(), "'id' must be a string"));
                auto id = PeerId::parse(*s);
                if (!id)
                    return std::unexpected(malformed(source, value.source(), id.error().what));
                entry.id = *id;
                haveId = true;
            } else if (key.str() == "name") {
                auto s = value.value<std::string>();
                if (!s || !(s->empty() || validAlias(*s)))
                    return std::unexpected(
                        malformed(source, value.source(),
                                  "'name' must be a string of letters, digits, '-', '_' or '.'"));
                entry.name = *s;
            } else {
                return std::unexpected(malformed(source, value.source(),
                                                 "unknown key '" + std::string(key.str()) +
                                                     "' in [[peer]] (expected id, name)"));
            }
        }
        if (!haveId)
            return std::unexpected(malformed(source, item.source(), "[[peer]] without an 'id'"));
        if (list.contains(entry.id))
            return std::unexpected(
                malformed(source, item.source(), "peer " + entry.id.str() + " listed twice"));
        if (!entry.name.empty() &&
            std::any_of(list.entries_.begin(), list.entries_.end(),
                        [&](const TrustEntry& e) { return e.name == entry.name; }))
            return std::unexpected(
                malformed(source, item.source(), "name '" + entry.name + "' used twice"));
        list.entries_.push_back(std::move(entry));
    }
    return list;
}

std::string TrustList::serialize() const {
    std::string out = "# Peers this node trusts. Edit with 'trust add|remove', or by hand.\n";
    for (const auto& e : entries_) {
        out += "\n[[peer]]\nid = \"" + e.id.str() + "\"\n";
        if (!e.name.empty())
            out += "name = " + tomlString(e.name) + "\n";
    }
    return out;
}

void TrustList::save(const std::filesystem::path& path) const {
    writeFileAtomic(path, serialize(), 0600);
}

std::expected<void, Error> TrustList::add(const PeerId& id, std::string name, const PeerId& self) {
    if (id == self)
        return std::unexpected(
            Error(Error::Code::kInvalidArgument, "refusing to trust our own id " + id.str()));
    if (contains(id))
        return std::unexpected(Error(Error::Code::kExists, id.str() + " is already trusted"));
    if (!name.empty()) {
        if (!validAlias(name))
            return std::unexpected(
                Error(Error::Code::kInvalidArgument,
                      "name '" + name + "' must be 1-64 letters, digits, '-', '_' or '.'"));
        if (std::any_of(entries_.begin(), entries_.end(),
                        [&](const TrustEntry& e) { return e.name == name; }))
            return std::unexpected(
                Error(Error::Code::kInvalidArgument, "name '" + name + "' is already used"));
    }
    entries_.push_back(TrustEntry{id, std::move(name)});
    return {};
}

std::expected<TrustEntry, Error> TrustList::remove(std::string_view idOrName) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const TrustEntry& e) {
        return (!e.name.empty() && e.name == idOrName) || e.id.str() == idOrName;
    });
    if (it == entries_.end())
        return std::unexpected(
            Error(Error::Code::kNotFound,
                  "no trusted peer with id or name '" + std::string(idOrName.substr(0, 64)) + "'"));
    TrustEntry removed = *it;
    entries_.erase(it);
    return removed;
}

bool TrustList::contains(const PeerId& id) const noexcept {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const TrustEntry& e) { return e.id == id; });
}

std::optional<std::string> TrustList::nameOf(const PeerId& id) const {
    for (const auto& e : entries_)
        if (e.id == id)
            return e.name;
    return std::nullopt;
}

} // namespace swarm::wire

#pragma once

#include "wire/error.hpp"
#include "wire/peer_id.hpp"

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::wire {

struct TrustEntry {
    PeerId id;
    std::string name; ///< local alias; may be empty
};

/// The explicit allow-list of peers, kept in a human-editable TOML file:
///
///     [[peer]]
///     id = "sw1..."
///     name = "alice"
///
/// A value type; not thread-safe.
class TrustList {
public:
    /// Reads the file; a missing file is an empty list. A malformed file is
    /// an error naming the file and line (kMalformed), never an empty list.
    static std::expected<TrustList, Error> load(const std::filesystem::path& path);
    /// Parses TOML text; `source` names it in error messages.
    static std::expected<TrustList, Error> parse(std::string_view text, std::string_view source);

    /// Writes atomically (temp + rename), mode 0600. Throws std::system_error.
    void save(const std::filesystem::path& path) const;
    std::string serialize() const;

    /// Adds a peer. Errors: `id` is `self` (kInvalidArgument), already
    /// present (kExists), `name` already used or not a simple alias
    /// (kInvalidArgument).
    std::expected<void, Error> add(const PeerId& id, std::string name, const PeerId& self);
    /// Removes by peer id or by alias; kNotFound if neither matches.
    std::expected<TrustEntry, Error> remove(std::string_view idOrName);

    bool contains(const PeerId& id) const noexcept;
    bool contains(const PublicKey& key) const noexcept { return contains(PeerId(key)); }
    /// The alias of a trusted peer (empty if it has none); nullopt if absent.
    std::optional<std::string> nameOf(const PeerId& id) const;
    const std::vector<TrustEntry>& entries() const noexcept { return entries_; }
    bool empty() const noexcept { return entries_.empty(); }

private:
    std::vector<TrustEntry> entries_;
};

} // namespace swarm::wire

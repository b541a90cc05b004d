#pragma once

#include "cli/program.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::dht {
struct DiscoverySnapshot;
}

namespace swarm::submitter {

/// `swarm-submit workers [--swarm S] [--bootstrap H:P ...] [--timeout SECONDS]
/// [--bind ADDR] [--port P] [--lan] [--json]`: joins the DHT, looks up the
/// swarm's workers key, and lists the workers on the allow-list that were
/// found, with their capacity and the age of their record, plus how many
/// values were skipped and why. Stops once every allow-listed worker was
/// found or at the timeout (default 10 s). Exit 0 if at least one trusted
/// worker was found, 1 if none, 2 on usage errors.
cli::Command workersCommand();

/// The human form: a heading, one row per worker (its reach as announced,
/// "-" if not; a line under it per relay it serves), the skip counts.
/// Texts from peers are made printable.
std::string workersTable(std::string_view swarm, const dht::DiscoverySnapshot& snapshot,
                         std::size_t trustedTotal, std::int64_t elapsedMs);

/// The `--json` document (see docs/discovery.md for its fields).
/// `trustedTotal` is the size of the allow-list, `complete` whether every
/// allow-listed worker was found.
std::string workersJson(std::string_view swarm, const dht::DiscoverySnapshot& snapshot,
                        std::size_t trustedTotal, std::int64_t elapsedMs, bool complete);

} // namespace swarm::submitter

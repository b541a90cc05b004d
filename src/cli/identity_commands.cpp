#include "base/json_writer.hpp"
#include "cli/home_files.hpp"
#include "cli/program.hpp"

#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <stdexcept>

namespace swarm::cli {

namespace {
Action declareInit(CLI::App& app) {
    auto force = std::make_shared<bool>(false);
    app.add_flag("--force", *force, "replace an existing identity (its peer id is lost for good)");
    return [force](const Globals& g) {
        auto path = wire::identityPath(g.home);
        auto id = wire::Identity::generate();
        if (auto saved = wire::saveIdentity(path, id, *force); !saved)
            throw std::runtime_error(saved.error().what);
        fmt::print("{}\n", wire::PeerId(id.publicKey()).str());
        return 0;
    };
}

Action declareId(CLI::App&) {
    return [](const Globals& g) {
        fmt::print("{}\n", wire::PeerId(requireIdentity(g).publicKey()).str());
        return 0;
    };
}

int trustAdd(const Globals& g, const std::string& id, const std::string& name) {
    auto peer = wire::PeerId::parse(id);
    if (!peer)
        throw UsageError(peer.error().what);
    auto self = wire::PeerId(requireIdentity(g).publicKey());
    auto list = requireTrust(g);
    if (auto added = list.add(*peer, name, self); !added)
        throw std::runtime_error(added.error().what);
    list.save(wire::trustPath(g.home));
    fmt::print("trusted {}{}\n", peer->str(), name.empty() ? "" : " as " + name);
    return 0;
}

int trustRemove(const Globals& g, const std::string& who) {
    auto list = requireTrust(g);
    auto removed = list.remove(who);
    if (!removed)
        throw std::runtime_error(removed.error().what);
    list.save(wire::trustPath(g.home));
    fmt::print("no longer trusting {}\n", removed->id.str());
    return 0;
}

int trustList(const Globals& g) {
    auto list = requireTrust(g);
    if (g.json) {
        base::JsonArray peers;
        for (const auto& e : list.entries())
            peers.add(base::JsonObject().add("id", e.id.str()).add("name", e.name));
        fmt::print("{}\n", base::JsonObject().add("peers", peers).str());
        return 0;
    }
    for (const auto& e : list.entries())
        fmt::print("{}  {}\n", e.id.str(), e.name);
    return 0;
}

Action declareTrust(CLI::App& app) {
    struct Words {
        std::string peer;
        std::string name;
        CLI::App* add = nullptr;
        CLI::App* remove = nullptr;
        CLI::App* list = nullptr;
    };
    auto w = std::make_shared<Words>();
    w->add = app.add_subcommand("add", "trust a peer");
    w->add->add_option("PEER-ID", w->peer, "its peer id (sw1...)")->required()->type_name("");
    w->add->add_option("--name", w->name, "an alias for it (trust remove, [shares] in worker.toml)")
        ->type_name("NAME");
    w->remove = app.add_subcommand("remove", "stop trusting a peer");
    w->remove->add_option("PEER", w->peer, "its peer id or alias")->required()->type_name("");
    w->list = app.add_subcommand("list", "print the allow-list (with --json: {\"peers\": [...]})");
    return [w](const Globals& g) {
        if (w->add->parsed())
            return trustAdd(g, w->peer, w->name);
        if (w->remove->parsed())
            return trustRemove(g, w->peer);
        if (w->list->parsed())
            return trustList(g);
        throw UsageError("trust wants a subcommand: add, remove or list");
    };
}
} // namespace

std::vector<Command> identityCommands() {
    return {
        {"init", "create this node's identity and print its peer id", declareInit},
        {"id", "print this node's peer id", declareId},
        {"trust", "edit the allow-list: trust add PEER-ID [--name NAME] | remove PEER | list",
         declareTrust},
    };
}

} // namespace swarm::cli

#include "base/json_writer.hpp"
#include "cli/program.hpp"

#include "wire/home.hpp"
#include "wire/identity.hpp"
#include "wire/peer_id.hpp"
#include "wire/trust_list.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace swarm::cli {

namespace {
wire::Identity requireIdentity(const Globals& g) {
    auto id = wire::loadIdentity(wire::identityPath(g.home));
    if (!id)
        throw std::runtime_error(id.error().what);
    return std::move(*id);
}

wire::TrustList requireTrust(const Globals& g) {
    auto list = wire::TrustList::load(wire::trustPath(g.home));
    if (!list)
        throw std::runtime_error(list.error().what);
    return std::move(*list);
}

int runInit(Args& args, const Globals& g) {
    bool force = args.flag("force");
    args.finish();
    auto path = wire::identityPath(g.home);
    auto id = wire::Identity::generate();
    if (auto saved = wire::saveIdentity(path, id, force); !saved)
        throw std::runtime_error(saved.error().what);
    fmt::print("{}\n", wire::PeerId(id.publicKey()).str());
    return 0;
}

int runId(Args& args, const Globals& g) {
    args.finish();
    fmt::print("{}\n", wire::PeerId(requireIdentity(g).publicKey()).str());
    return 0;
}

int runTrust(Args& args, const Globals& g) {
    auto name = args.take("name").value_or(""); // options first: values are not positionals
    auto words = args.positionals();
    if (words.empty())
        throw UsageError("trust wants a subcommand: add, remove or list");
    const std::string verb = words[0];
    if (verb == "add") {
        args.finish();
        if (words.size() != 2)
            throw UsageError("usage: trust add PEER-ID [--name NAME]");
        auto peer = wire::PeerId::parse(words[1]);
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
    if (name.size() > 0)
        throw UsageError("--name goes with 'trust add' only");
    if (verb == "remove") {
        args.finish();
        if (words.size() != 2)
            throw UsageError("usage: trust remove PEER-ID|NAME");
        auto list = requireTrust(g);
        auto removed = list.remove(words[1]);
        if (!removed)
            throw std::runtime_error(removed.error().what);
        list.save(wire::trustPath(g.home));
        fmt::print("no longer trusting {}\n", removed->id.str());
        return 0;
    }
    if (verb == "list") {
        args.finish();
        if (words.size() != 1)
            throw UsageError("usage: trust list");
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
    throw UsageError("unknown trust subcommand '" + verb + "' (add, remove, list)");
}
} // namespace

std::vector<Command> identityCommands() {
    return {
        {"init", "init [--force]          create this node's identity and print its peer id",
         runInit},
        {"id", "id                      print this node's peer id", runId},
        {"trust",
         "trust add PEER-ID [--name NAME] | remove PEER-ID|NAME | list   edit the allow-list",
         runTrust},
    };
}

} // namespace swarm::cli

#include "submitter/submit_config.hpp"

#include <toml++/toml.h>

namespace swarm::submitter {

namespace {

wire::Error bad(const std::string& file, const toml::node& node, const std::string& why) {
    return wire::Error(wire::Error::Code::kMalformed,
                       file + ":" + std::to_string(node.source().begin.line) + ": " + why);
}

} // namespace

std::filesystem::path submitConfigPath(const std::filesystem::path& home) {
    return home / "submitter.toml";
}

std::expected<SubmitConfig, wire::Error> loadSubmitConfig(const std::filesystem::path& path) {
    SubmitConfig cfg;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return cfg;
    const std::string file = path.string();
    toml::table doc;
    try {
        doc = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
        return std::unexpected(wire::Error(wire::Error::Code::kMalformed,
                                           file + ":" + std::to_string(e.source().begin.line) +
                                               ": " + std::string(e.description())));
    }
    for (auto&& [key, node] : doc) {
        const std::string k(key.str());
        if (k == "swarm" || k == "dht_address") {
            auto v = node.value<std::string>();
            if (!v)
                return std::unexpected(bad(file, node, "'" + k + "' must be a string"));
            (k == "swarm" ? cfg.swarm : cfg.dhtAddress) = *v;
        } else if (k == "bootstrap") {
            auto* arr = node.as_array();
            if (arr == nullptr)
                return std::unexpected(bad(file, node, "'bootstrap' must be a list of strings"));
            for (auto& item : *arr) {
                auto v = item.value<std::string>();
                if (!v)
                    return std::unexpected(
                        bad(file, item, "'bootstrap' must be a list of strings"));
                cfg.bootstrap.push_back(*v);
            }
        } else if (k == "lan_discovery") {
            auto v = node.value<bool>();
            if (!v)
                return std::unexpected(bad(file, node, "'lan_discovery' must be true or false"));
            cfg.lanDiscovery = *v;
        } else {
            return std::unexpected(bad(file, node,
                                       "unknown key '" + k +
                                           "' (known: swarm, bootstrap, dht_address, "
                                           "lan_discovery)"));
        }
    }
    return cfg;
}

} // namespace swarm::submitter

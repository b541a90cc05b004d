#include "dht/bootstrap.hpp"

#include "dht/keys.hpp"

#include <algorithm>
#include <charconv>

namespace swarm::dht {

using wire::Error;

bool validSwarmName(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
}

std::string HostPort::str() const {
    if (host.find(':') != std::string::npos)
        return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::expected<HostPort, Error> parseHostPort(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return std::unexpected(Error(Error::Code::kInvalidArgument,
                                     "bootstrap '" + std::string(text) + "': " + std::string(why)));
    };
    HostPort out;
    std::string_view portText;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return bad("missing ']'");
        out.host = std::string(text.substr(1, close - 1));
        auto tail = text.substr(close + 1);
        if (!tail.empty()) {
            if (tail[0] != ':')
                return bad("expected ':' after ']'");
            portText = tail.substr(1);
            if (portText.empty())
                return bad("empty port");
        }
    } else {
        auto colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') != colon)
            return bad("IPv6 addresses need brackets: [addr]:port");
        if (colon == std::string_view::npos) {
            out.host = std::string(text);
        } else {
            out.host = std::string(text.substr(0, colon));
            portText = text.substr(colon + 1);
            if (portText.empty())
                return bad("empty port");
        }
    }
    if (out.host.empty())
        return bad("empty host");
    if (portText.empty()) {
        out.port = kDefaultDhtPort;
    } else {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
        if (ec != std::errc() || ptr != portText.data() + portText.size() || value == 0 ||
            value > 65535)
            return bad("port must be 1..65535");
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

std::expected<std::vector<HostPort>, Error> mergeBootstrap(const std::vector<std::string>& flags,
                                                           const std::vector<std::string>& config,
                                                           const std::optional<std::string>& env) {
    std::vector<HostPort> out;
    auto addOne = [&](std::string_view word,
                      std::string_view source) -> std::expected<void, Error> {
        auto parsed = parseHostPort(word);
        if (!parsed)
            return std::unexpected(
                Error(parsed.error().code, std::string(source) + ": " + parsed.error().what));
        if (std::find(out.begin(), out.end(), *parsed) == out.end())
            out.push_back(std::move(*parsed));
        return {};
    };
    for (const auto& f : flags)
        if (auto r = addOne(f, "--bootstrap"); !r)
            return std::unexpected(r.error());
    for (const auto& c : config)
        if (auto r = addOne(c, "config"); !r)
            return std::unexpected(r.error());
    if (env) {
        std::string_view rest = *env;
        while (!rest.empty()) {
            auto cut = rest.find_first_of(", \t\n");
            auto word = rest.substr(0, cut);
            if (!word.empty())
                if (auto r = addOne(word, "SWARM_BOOTSTRAP"); !r)
                    return std::unexpected(r.error());
            if (cut == std::string_view::npos)
                break;
            rest = rest.substr(cut + 1);
        }
    }
    return out;
}

} // namespace swarm::dht

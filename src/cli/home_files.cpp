#include "cli/home_files.hpp"

#include "cli/program.hpp"
#include "wire/home.hpp"

#include <stdexcept>

namespace swarm::cli {

wire::Identity requireIdentity(const Globals& globals) {
    auto id = wire::loadIdentity(wire::identityPath(globals.home));
    if (!id)
        throw std::runtime_error(id.error().what);
    return std::move(*id);
}

wire::TrustList requireTrust(const Globals& globals) {
    auto list = wire::TrustList::load(wire::trustPath(globals.home));
    if (!list)
        throw std::runtime_error(list.error().what);
    return std::move(*list);
}

} // namespace swarm::cli

#pragma once

#include <cstdint>
#include <mutex>

namespace swarm::dht {

/// The end of a Discovery's or an Inbox's listen: marks their shared
/// `state` stopped (callbacks still queued on OpenDHT's thread then do
/// nothing) and cancels the listen, if one was registered. `State` has
/// `mutex`, `stopped`, `listenToken` and `node`. Call from the owner's
/// destructor, never from a callback.
template <typename State> void stopListening(State& state) {
    std::uint64_t token = 0;
    {
        std::lock_guard lock(state.mutex);
        state.stopped = true;
        token = state.listenToken;
    }
    if (token != 0)
        state.node.cancelListen(token);
}

} // namespace swarm::dht

// libFuzzer target for one stream message type, chosen at build time with
// -DSWARM_FUZZ_TYPE=<MsgType number> (tests/fuzz/meson.build builds one
// per type). The input is the msgpack body map; it is framed as
// `[type, body]`, decoded and judged by bodyAs<T>(), and an accepted
// message must round-trip (message_types.hpp).

#include "message_types.hpp"

#include <cstddef>
#include <cstdint>

#ifndef SWARM_FUZZ_TYPE
#error "build with -DSWARM_FUZZ_TYPE=<message type number>"
#endif

namespace {
using Message = swarm::fuzz::MessageAt<SWARM_FUZZ_TYPE>;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto payload = swarm::fuzz::wrapBody(Message::kType, {data, size});
    (void)swarm::fuzz::judgeRoundTrip<Message>(payload);
    return 0;
}

#include "bench/program.hpp"

#include "bench/discovery_bench.hpp"
#include "bench/dispatch_bench.hpp"
#include "bench/stream_bench.hpp"

namespace swarm::bench {

cli::Program program() {
    return {"swarm-bench",
            "swarm benchmark harnesses",
            {streamCommand(), discoveryCommand(), dispatchCommand()}};
}

} // namespace swarm::bench

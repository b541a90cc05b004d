#include "wire/isolation_json.hpp"

#include "wire/records.hpp"

namespace swarm::wire {

base::JsonObject isolationJson(const Isolation& isolation) {
    base::JsonObject json;
    json.add("memory", isolation.memory)
        .add("cpu", isolation.cpu)
        .add("pids", isolation.pids)
        .add("userns", isolation.userns)
        .add("seccomp", isolation.seccomp)
        .add("network", isolation.network)
        .add("read_only", isolation.readOnly)
        .add("cpu_cap", isolation.cpuCap);
    return json;
}

} // namespace swarm::wire

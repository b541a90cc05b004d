#include "submitter/job_fixture.hpp"

#include "submitter/journal.hpp"
#include "submitter/replica_report.hpp"
#include "submitter/result_store.hpp"
#include "submitter/scheduler.hpp"
#include "wire/clock.hpp"

#include <fstream>
#include <stdexcept>

namespace swarm::test {

using namespace swarm::submitter;
namespace fs = std::filesystem;

namespace {

OutputFile stored(ResultStore& store, std::string name, std::string_view content) {
    const auto digest = wire::sha256(wire::asBytes(content));
    if (!store.putBlob(digest, wire::asBytes(content)))
        throw std::runtime_error("cannot store a blob");
    return {std::move(name), digest, content.size()};
}

} // namespace

JobSpec makeJobDir(const fs::path& dir, const fs::path& inputs, const wire::ManualClock& clock) {
    JobSpec job;
    job.name = "demo";
    job.image.reference = "localhost/img";
    job.command = {"cat", "{}"};
    job.policy.replicas = 2;
    job.policy.quorum = 2;
    job.policy.maxErrors = 0;
    job.policy.maxTotalResults = 10;
    job.policy.leaseMs = 60'000;
    job.timeoutMs = 10'000;
    fs::create_directories(inputs);
    std::vector<std::string> ids;
    for (const char* id : {"u0", "u1", "u2"}) {
        const auto file = inputs / (std::string(id) + ".txt");
        std::ofstream(file) << id << '\n';
        job.units.push_back({id, {{file, std::string(id) + ".txt"}}});
        ids.emplace_back(id);
    }
    auto journal = Journal::create(dir, job);
    ResultStore store(dir);
    Scheduler s(job.policy, ids, clock, journal);
    auto a = s.requestWork("w1", 3);
    auto b = s.requestWork("w2", 3);
    auto replica = [](const std::vector<Assignment>& given, std::string_view unit) {
        for (const auto& x : given)
            if (x.unitId == unit)
                return x.replica;
        throw std::runtime_error("unit not assigned");
    };
    const auto out = stored(store, "stdout", "zero\n");
    s.reportResult("w1", "u0", replica(a, "u0"),
                   ReplicaReport::success(0, {out, stored(store, "stderr", "took 1s\n")}));
    auto fx =
        s.reportResult("w2", "u0", replica(b, "u0"),
                       ReplicaReport::success(0, {out, stored(store, "stderr", "took 2s\n")}));
    for (const auto& id : fx.validated) {
        const auto* unit = s.unit(id);
        if (!store.writeUnit(id, s.replicas(id).at(*unit->acceptedReplica).outputs))
            throw std::runtime_error("cannot write the results of " + id);
    }
    s.reportResult("w1", "u1", replica(a, "u1"), ReplicaReport::failure("timed out"));
    return job;
}

} // namespace swarm::test

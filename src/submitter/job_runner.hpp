#pragma once

#include "dht/bootstrap.hpp"
#include "submitter/job_spec.hpp"
#include "wire/trust_list.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace swarm::wire {
class Clock;
class Identity;
} // namespace swarm::wire

namespace swarm::submitter {

class Journal;

/// Where and how a job runs; parsed once from the command line.
struct RunOptions {
    std::filesystem::path jobDir;
    std::string listenHost = "127.0.0.1"; ///< where workers dial in
    std::uint16_t listenPort = 0;         ///< 0 = any free port
    /// Endpoints put into offers ("host:port"); empty = listenHost:port.
    std::vector<std::string> advertise;
    std::string swarm = "default";
    std::vector<dht::HostPort> bootstrap;
    std::string dhtAddress; ///< IPv4 to bind the DHT node to; "" = any
    std::uint16_t dhtPort = 0;
    bool lanDiscovery = false;
    bool json = false;     ///< JSON-lines events on stdout
    bool progress = false; ///< a live progress line on stderr (a terminal)
};

/// Drives one job through the swarm: discovers trusted workers, offers them
/// work, serves their sessions, schedules replicas, validates results by
/// quorum and writes them to the job directory. Every scheduling decision
/// is committed to the journal before it is acted on, so a killed run
/// resumes where it stopped.
///
/// Threads: the caller's thread runs the control loop (leases, offers,
/// progress); the TLS listener runs one thread per worker session. They
/// share the scheduler, the journal and the result store under one mutex.
class JobRunner {
public:
    /// Borrows identity and clock. `resumed` says the journal already held
    /// this job (for the job-started event and the summary).
    JobRunner(JobSpec job, Journal& journal, RunOptions options, const wire::Identity& identity,
              wire::TrustList trust, const wire::Clock& clock, bool resumed);
    ~JobRunner();
    JobRunner(const JobRunner&) = delete;
    JobRunner& operator=(const JobRunner&) = delete;

    /// Runs until every unit is valid or failed, or `interrupted` becomes
    /// true. Returns 0 only if every unit is valid; 1 if some failed; 130 if
    /// interrupted (the journal keeps the state for a resume). Throws
    /// std::runtime_error / std::system_error on local failures.
    int run(const std::atomic<bool>& interrupted);

    struct State;

private:
    std::shared_ptr<State> state_;
};

} // namespace swarm::submitter

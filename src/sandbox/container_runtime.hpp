#pragma once

#include "sandbox/container_freezer.hpp"
#include "sandbox/unit_spec.hpp"

#include <string_view>

namespace swarm::sandbox {

/// Runs untrusted units in isolation. The seam the worker depends on: tests
/// wrap it (fault injection) or fake it.
class ContainerRuntime {
public:
    virtual ~ContainerRuntime() = default;

    /// Runs one unit to completion (or timeout) and always removes what it
    /// created. Outcomes of the unit itself (non-zero exit, timeout, OOM,
    /// refused outputs) are reported in the result, never thrown. Throws
    /// std::runtime_error / std::system_error when the runtime itself fails
    /// (Podman unreachable, local I/O). Thread-safe: concurrent calls are
    /// independent.
    virtual UnitResult run(const UnitSpec& spec) = 0;

    /// Removes containers and volumes labelled as this worker's, left behind
    /// by a crashed process. Returns how many objects were removed.
    virtual std::size_t cleanupLeftovers(std::string_view workerId) = 0;

    /// How run() freezes a unit while its spec's FreezeControl is on
    /// (UnitSpec::freeze); said in status and doctor.
    virtual FreezeMethod freezeMethod() const = 0;
};

} // namespace swarm::sandbox

#include "submitter/scheduler_store.hpp"

#include <array>
#include <utility>

namespace swarm::submitter {

namespace {

constexpr std::array<std::pair<UnitState, std::string_view>, 3> kUnitNames{{
    {UnitState::kPending, "pending"},
    {UnitState::kValid, "valid"},
    {UnitState::kFailed, "failed"},
}};

constexpr std::array<std::pair<ReplicaState, std::string_view>, 9> kReplicaNames{{
    {ReplicaState::kInFlight, "in-flight"},
    {ReplicaState::kSucceeded, "succeeded"},
    {ReplicaState::kErrored, "errored"},
    {ReplicaState::kExpired, "expired"},
    {ReplicaState::kLost, "lost"},
    {ReplicaState::kGivenBack, "given-back"},
    {ReplicaState::kAbandoned, "abandoned"},
    {ReplicaState::kCancelled, "cancelled"},
    {ReplicaState::kRefused, "refused"},
}};

} // namespace

std::string_view stateName(UnitState state) noexcept {
    for (const auto& [s, n] : kUnitNames)
        if (s == state)
            return n;
    return "?";
}

std::string_view stateName(ReplicaState state) noexcept {
    for (const auto& [s, n] : kReplicaNames)
        if (s == state)
            return n;
    return "?";
}

std::optional<UnitState> parseUnitState(std::string_view name) noexcept {
    for (const auto& [s, n] : kUnitNames)
        if (n == name)
            return s;
    return std::nullopt;
}

std::optional<ReplicaState> parseReplicaState(std::string_view name) noexcept {
    for (const auto& [s, n] : kReplicaNames)
        if (n == name)
            return s;
    return std::nullopt;
}

bool countsAsError(ReplicaState state) noexcept {
    return state == ReplicaState::kErrored || state == ReplicaState::kExpired ||
           state == ReplicaState::kLost;
}

bool countsAsIssued(ReplicaState state) noexcept {
    return state != ReplicaState::kGivenBack;
}

} // namespace swarm::submitter

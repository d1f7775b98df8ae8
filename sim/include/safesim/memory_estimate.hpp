// safesim: a rough up-front memory estimate, so that a scenario too large for
// the machine is refused when it is loaded rather than after minutes of
// building (implemented in sim/src/scenario_yaml.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "safesim/spec.hpp"

namespace safesim {

/// Bounds of the run's cache of generated tie lists (graph.on_demand): it is
/// emptied when it would hold more than kTieCacheMaxTies ties (4 bytes each)
/// or kTieCacheMaxLists lists (the index: two 16-byte slots a list; the estimate allows 64 bytes).
inline constexpr std::size_t kTieCacheMaxTies = std::size_t{1} << 22;
inline constexpr std::size_t kTieCacheMaxLists = std::size_t{1} << 17;
inline constexpr std::size_t kTieCacheBytes = 4 * kTieCacheMaxTies + 64 * kTieCacheMaxLists;  // 24 MB

/// Bytes a run of `spec` needs, roughly: per user 64 bytes of columns plus
/// 16 bytes per tie on each platform (compressed sparse row, both directions),
/// group memberships, offender accounts and their dyads, and the run's daily
/// output array ((platforms + 1) scopes x days x metrics doubles), warm-up
/// days included (no second copy of it is made: the horizon's rows are moved
/// down in place at the end of the run).
std::uint64_t estimate_memory_bytes(const ScenarioSpec& spec);

/// The daily output array of one run in bytes: (platforms + 1) x horizon_days x metrics x 8.
std::uint64_t daily_output_bytes(const ScenarioSpec& spec);

/// Physical memory of this machine in bytes (0 if unknown).
std::uint64_t physical_memory_bytes();

/// The memory this process may use in bytes: the lowest of physical memory,
/// the address-space and data rlimits and the cgroup (v2 memory.max or v1
/// memory.limit_in_bytes) limit; 0 if none is known.
std::uint64_t memory_limit_bytes();

}  // namespace safesim

// safesim: a rough up-front memory estimate, so that a scenario too large for
// the machine is refused when it is loaded rather than after minutes of
// building (implemented in sim/src/scenario_yaml.cpp).
#pragma once

#include <cstdint>

#include "safesim/spec.hpp"

namespace safesim {

/// Bytes a run of `spec` needs, roughly: per user 64 bytes of columns plus
/// 16 bytes per tie on each platform (compressed sparse row, both directions),
/// plus offender accounts and their dyads.
std::uint64_t estimate_memory_bytes(const ScenarioSpec& spec);

/// Physical memory of this machine in bytes (0 if unknown).
std::uint64_t physical_memory_bytes();

}  // namespace safesim

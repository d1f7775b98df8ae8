// safesim: the sizes the engine's compact state can hold. The loader refuses a
// scenario past any of them up front with a clear message; the engine never
// wraps a counter or a key silently (sim/src/state.hpp keeps to these).
#pragma once

#include <cstdint>

namespace safesim {

/// Platforms in one scenario: a platform index is stored in 16 bits in the
/// dyad, account, copy and law-enforcement tables.
inline constexpr std::uint64_t kMaxPlatforms = 65535;
/// Simulated days: a dyad's start day and a member's join day are 16-bit, and
/// a dyad's RNG slot holds its start day in 15 bits (dyad_rng_position()).
inline constexpr std::int64_t kMaxHorizonDays = 32767;
/// Offenders in a run, counting new arrivals: an account's RNG key is
/// offender * 256 + generation in 32 bits.
inline constexpr std::uint32_t kMaxOffenders = 1u << 24;
/// Accounts one offender can create over a run (the generation in its key).
inline constexpr std::uint32_t kMaxAccountsPerOffender = 256;

}  // namespace safesim

// safesim: the named random streams. Each random decision in the model draws
// from its own stream (STYLE.md habit 5), so a change to one process leaves the
// draws of every other process untouched (common random numbers). A name is
// listed exactly once; tests/cpp/test_streams.cpp rejects duplicates and hash
// collisions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "safesim/rng.hpp"

namespace safesim::streams {

// clang-format off
#define SAFESIM_STREAMS(X) \
  X(user_age) X(user_gender) X(user_vulnerability) X(user_activity) X(user_join) X(membership) \
  X(declared_age) X(age_check) X(settings) X(offender) X(account) X(graph_peer) \
  X(graph_family) X(graph_coach) X(graph_community) X(groups) X(discovery) X(reach) X(response) \
  X(dyad) X(reentry) X(review) X(benign) X(material) X(upload) X(views) X(benign_detection) \
  X(signals) X(clearinghouse) X(law_enforcement) X(trusted_flagger) X(harvest) \
  X(behavioural_false_positives)
// clang-format on

#define SAFESIM_X(name) inline constexpr std::uint32_t name = rng::stream_id(#name);
SAFESIM_STREAMS(SAFESIM_X)
#undef SAFESIM_X

inline constexpr std::array kAllNames = {
#define SAFESIM_X(name) std::string_view{#name},
    SAFESIM_STREAMS(SAFESIM_X)
#undef SAFESIM_X
};

}  // namespace safesim::streams

// The engine's limits (safesim/limits.hpp): every size the loader accepts fits
// the compact state, and nothing wraps silently. These tests reach into the
// engine's internal state header (sim/src/state.hpp) where a bug lived in a
// packing or a key rather than in a whole run.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"
#include "state.hpp"

using namespace safesim;
using namespace safesim::detail;

namespace {

std::string error_of(const std::string& text) {
  try {
    load_scenario_text(text, "mem.yaml", {});
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "(no error)";
}

/// The upper bound the parameter dictionary accepts for a key ending in `suffix`.
double dictionary_bound(const std::string& suffix) {
  for (const auto& p : parameter_table())
    if (p.key.size() >= suffix.size() && p.key.compare(p.key.size() - suffix.size(), suffix.size(), suffix) == 0)
      return p.hi;
  throw std::runtime_error("no parameter " + suffix);
}

template <class T>
double max_of(const std::vector<T>&) {
  return static_cast<double>(std::numeric_limits<T>::max());
}

}  // namespace

// graph.cpp sorted members by a 64-bit key holding the member index in 24
// bits: on a platform past 16,777,216 members the index spilled into the
// random draw and came back truncated (a corrupted graph).
TEST(Limits, CommunityOrderKeepsMemberIndicesPast24Bits) {
  const std::uint32_t big = (1u << 24) + 1;
  const std::vector<CommunityKey> keys = {community_key(12, 6, 0), community_key(12, 5, big), community_key(12, 5, 1),
                                          community_key(11, 9, 2)};
  const std::vector<std::uint32_t> order = community_order(keys);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{2, 1, big, 0}));
}

// Account keys are offender * 256 + generation in 32 bits: offender 2^24
// wrapped onto offender 0, and generation 256 onto the next offender.
TEST(Limits, AccountKeysAreDistinctOrRefused) {
  EXPECT_NE(account_key(kMaxOffenders - 1, 255), account_key(0, 0));
  EXPECT_EQ(account_key(3, 0), account_key(2, 255) + 1);
  EXPECT_THROW(account_key(kMaxOffenders, 0), std::length_error);
  EXPECT_THROW(account_key(0, kMaxAccountsPerOffender), std::length_error);
}

// The dyad's RNG slot packed (start_day << 16 | events) * 2 into 32 bits:
// start days from 32,768 wrapped, and the 16-bit event count wrapped at
// 65,536 events, so a long-lived dyad drew its first event's numbers again.
TEST(Limits, DyadDrawPositionsNeverRepeat) {
  const std::uint32_t key = 0x1234u;
  const auto first = dyad_rng_position(key, 0, 0);
  const auto epoch = dyad_rng_position(key, 0, 1u << 16);
  EXPECT_TRUE(first.time != epoch.time || first.slot != epoch.slot);
  // The last day the loader accepts: its slots stay apart from day 0's.
  std::set<std::uint64_t> seen;
  for (std::uint32_t day : {0u, 1u, static_cast<std::uint32_t>(kMaxHorizonDays) - 1})
    for (std::uint32_t e : {0u, 1u, 65535u}) {
      const auto at = dyad_rng_position(key, day, e);
      // Each event takes two blocks: slot and slot + 1.
      EXPECT_TRUE(seen.insert((static_cast<std::uint64_t>(at.time) << 32) | at.slot).second);
      EXPECT_TRUE(seen.insert((static_cast<std::uint64_t>(at.time) << 32) | (at.slot + 1)).second);
    }
  // Epoch 0 is the layout every earlier result was drawn with.
  EXPECT_EQ(first.time, key);
  EXPECT_EQ(dyad_rng_position(key, 3, 7).slot, ((3u << 16) | 7u) * 2u);
}

// A platform's benign detections (keyed by platform and tick) and behavioural
// risk's benign accounts (keyed by account) shared one stream: platform 7 on
// tick 0 drew the same numbers as account key 7.
TEST(Limits, BenignDetectionStreamsDoNotCollide) {
  for (std::uint32_t k : {0u, 7u, 300u}) {
    rng::Draw platform = benign_detection_draw(42, k, 0);
    rng::Draw account = behavioural_false_positive_draw(42, k);
    EXPECT_NE(platform.u32(), account.u32()) << k;
  }
}

// Counters compared with a limit the dictionary accepts must hold that limit:
// flags and requests_today were 16-bit while their limits accept 1e6, and
// max_open_dyads was cut to 65,535 silently.
TEST(Limits, AccountCountersHoldEveryLimitTheDictionaryAccepts) {
  const Accounts a;
  EXPECT_GE(max_of(a.flags), dictionary_bound("suspicious_adult_restrictions.flag_threshold"));
  EXPECT_GE(max_of(a.requests_today), dictionary_bound("request_filtering.daily_limit_to_minors"));
  EXPECT_GE(max_of(a.strikes), dictionary_bound("enforcement.strikes_to_ban"));
  EXPECT_GE(max_of(a.open_dyads), dictionary_bound("groomer.max_open_dyads"));
  const Dyads d;
  EXPECT_GE(max_of(d.start_day), dictionary_bound("horizon_days"));
}

TEST(Limits, LoaderRefusesSizesPastTheEngine) {
  EXPECT_NE(error_of("horizon_days: 32768\n").find("horizon_days"), std::string::npos);
  EXPECT_EQ(error_of("horizon_days: 32767\nwarmup_days: 0\n"), "(no error)");
  // The warm-up is simulated too: together they must fit.
  EXPECT_NE(error_of("horizon_days: 32767\nwarmup_days: 1\n").find("horizon_days + warmup_days"), std::string::npos);
  // 65,536 platforms do not fit the 16-bit platform index.
  const std::string many =
      "platforms: {}\nplatform_series:\n  - prefix: p\n    count: 65536\n    platform: {user_share: 0.00001}\n";
  const std::string e = error_of(many);
  EXPECT_NE(e.find("65535 platforms"), std::string::npos) << e;
  // More offenders than account keys: refused up front, not mid-run.
  const std::string crowd = "population: {users: 2000000000}\noffenders: {share_of_adults: 0.02, peer_share: 0}\n";
  const std::string o = error_of(crowd);
  EXPECT_NE(o.find("offenders.share_of_adults"), std::string::npos) << o;
  EXPECT_NE(o.find("16777216"), std::string::npos) << o;
  // With peer perpetrators, adults keep half the key space and peers the other half.
  const std::string with_peers = "population: {users: 2000000000}\noffenders: {share_of_adults: 0.02}\n";
  EXPECT_NE(error_of(with_peers).find("8388608 adult offenders"), std::string::npos) << error_of(with_peers);
  const std::string many_peers =
      "population: {users: 2000000000}\noffenders: {share_of_adults: 0.001, peer_share: 0.05}\n";
  EXPECT_NE(error_of(many_peers).find("offenders.peer_share"), std::string::npos) << error_of(many_peers);
}

TEST(Limits, TablesGeneratePushAndSwapRemove) {
  Dyads d;
  d.push({.account = 1, .minor = 10});
  d.push({.account = 2, .minor = 20, .events = 70000});
  d.push({.account = 3, .minor = 30});
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.stage[0], engaged);  // the declared default
  d.swap_remove(0);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.account[0], 3u);
  EXPECT_EQ(d.minor[0], 30u);
  EXPECT_EQ(d.events[1], 70000u);
  EXPECT_EQ(d.account.size(), d.size());
  EXPECT_EQ(d.last_hour.size(), d.size());
  d.swap_remove(1);
  d.swap_remove(0);
  EXPECT_EQ(d.size(), 0u);
}

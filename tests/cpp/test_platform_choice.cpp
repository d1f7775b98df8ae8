// Platform choice by surfaces and encryption (docs/model/submodels/offenders.md):
// where offenders of each type open their accounts, from the state built at
// day 0 (structure, controls, detection risk and the offenders' accounts).
// The choice probabilities are exact functions of the state; the account
// counts are draws from them on the same seeds (paired).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "model_util.hpp"
#include "state.hpp"

using namespace safesim;

namespace {

constexpr std::uint8_t kGroomer = 0, kDistributor = 2;

/// `n` platforms alike but for their size (user_share), no detectors.
ScenarioSpec platforms_alike(std::vector<double> shares) {
  ScenarioSpec s = test::small(10000, 30);
  s.offenders.share_of_adults = 0.02;
  const PlatformSpec base = s.platforms[0];
  s.platforms.clear();
  for (std::size_t p = 0; p < shares.size(); ++p) {
    s.platforms.push_back(base);
    s.platforms.back().name = "p" + std::to_string(p);
    s.platforms.back().user_share = shares[p];
  }
  return s;
}

/// The day-0 state of a run of `spec` with `seed`, offenders and their accounts included.
struct DayZero {
  detail::State s;
  DayZero(const ScenarioSpec& spec, std::uint64_t seed) {
    s.spec = &spec;
    s.seed = seed;
    s.warmup = spec.warmup_days;
    s.total_days = spec.warmup_days + spec.horizon_days;
    detail::build_structure(s);
    detail::build_operators(s);
    detail::finish_platforms(s);
    for (std::size_t p = 0; p < spec.platforms.size(); ++p) detail::update_detection_risk(s, p);
  }
  /// Accounts that offenders of `type` opened on each platform at the start.
  std::vector<double> accounts(std::uint8_t type) {
    detail::build_offenders(s);
    std::vector<double> n(s.platforms.size(), 0.0);
    for (std::size_t a = 0; a < s.accounts.size(); ++a)
      if (s.accounts.type[a] == type) n[s.accounts.platform[a]] += 1;
    return n;
  }
};

/// Accounts of `type` per platform, summed over a few seeds.
std::vector<double> accounts(const ScenarioSpec& spec, std::uint8_t type) {
  std::vector<double> n(spec.platforms.size(), 0.0);
  for (std::uint64_t seed : test::seeds(4)) {
    DayZero z(spec, seed);
    const auto m = z.accounts(type);
    for (std::size_t p = 0; p < n.size(); ++p) n[p] += m[p];
  }
  return n;
}

}  // namespace

TEST(PlatformChoice, WithAllPlatformsIdenticalTheChoiceIsProportionalToMinors) {
  // Different sizes, same surfaces and controls; encryption on all of them
  // alike (the same factor everywhere cancels).
  ScenarioSpec spec = platforms_alike({0.9, 0.5, 0.2, 0.05});
  for (auto& p : spec.platforms) {
    p.controls.e2ee_share = 0.5;
    p.controls.grooming_detection.enabled = true;
  }
  DayZero z(spec, 7);
  double minors = 0;
  for (const auto& P : z.s.platforms) minors += static_cast<double>(P.minors_active);
  for (std::uint8_t t = 0; t < 3; ++t) {
    const auto share = detail::platform_choice_shares(z.s, t);
    for (std::size_t p = 0; p < share.size(); ++p)
      EXPECT_NEAR(share[p], static_cast<double>(z.s.platforms[p].minors_active) / minors, 1e-12)
          << "type " << int(t) << " platform " << p;
  }
}

TEST(PlatformChoice, APlatformWithoutAFileSurfaceGetsFewerDistributors) {
  ScenarioSpec with = platforms_alike({0.6, 0.6});
  ScenarioSpec without = with;
  without.platforms[1].surfaces.file_transfer = 0;
  // The probabilities: distributors (who need a file channel) move away from
  // platform 1; groomers (who do not) stay where the minors are.
  DayZero zw(with, 11), zo(without, 11);
  const auto dist_with = detail::platform_choice_shares(zw.s, kDistributor);
  const auto dist_without = detail::platform_choice_shares(zo.s, kDistributor);
  const double r = without.offenders.readable_channel_value;
  const double factor = std::exp(-without.offenders.distributor.needs.file_transfer * r);  // its file value lost
  const double m0 = static_cast<double>(zo.s.platforms[0].minors_active);
  const double m1 = static_cast<double>(zo.s.platforms[1].minors_active);
  EXPECT_NEAR(dist_without[1], m1 * factor / (m0 + m1 * factor), 1e-12);
  EXPECT_LT(dist_without[1], dist_with[1] - 0.1);
  EXPECT_NEAR(detail::platform_choice_shares(zo.s, kGroomer)[1], detail::platform_choice_shares(zw.s, kGroomer)[1],
              1e-12);
  // The accounts drawn on the same seeds follow.
  const auto n_with = accounts(with, kDistributor);
  const auto n_without = accounts(without, kDistributor);
  std::printf("  distributor accounts on platform 1: %.0f with a file surface, %.0f without (of %.0f, %.0f)\n",
              n_with[1], n_without[1], n_with[0] + n_with[1], n_without[0] + n_without[1]);
  EXPECT_LT(n_without[1], 0.8 * n_with[1]);
  EXPECT_EQ(accounts(with, kGroomer), accounts(without, kGroomer));  // groomers' draws unchanged
}

TEST(PlatformChoice, EncryptingDirectMessagesDrawsGroomersWhoValuePrivateChannels) {
  // No detectors: detection risk is nil everywhere, so only what the type
  // needs of the surface can move it.
  ScenarioSpec open = platforms_alike({0.6, 0.6});
  ScenarioSpec encrypted = open;
  encrypted.platforms[1].controls.e2ee_share = 1.0;
  const auto g_open = accounts(open, kGroomer);
  const auto g_enc = accounts(encrypted, kGroomer);
  const double share_open = g_open[1] / (g_open[0] + g_open[1]);
  const double share_enc = g_enc[1] / (g_enc[0] + g_enc[1]);
  std::printf("  groomers' share on platform 1: %.3f open, %.3f with encrypted messages\n", share_open, share_enc);
  EXPECT_GT(share_enc, share_open + 0.05);
  {
    DayZero zo(open, 3), ze(encrypted, 3);
    EXPECT_GT(detail::platform_choice_shares(ze.s, kGroomer)[1], detail::platform_choice_shares(zo.s, kGroomer)[1]);
  }
  // A type that does not value private channels (nor files, which travel in
  // the same messages) does not move: the same draws, the same platforms.
  for (ScenarioSpec* s : {&open, &encrypted}) s->offenders.groomer.needs = {1.0, 0.0, 0.0};
  EXPECT_EQ(accounts(open, kGroomer), accounts(encrypted, kGroomer));
}

TEST(PlatformChoice, ClientSideScanningTakesAwayWhatEncryptionOffered) {
  ScenarioSpec open = platforms_alike({0.6, 0.6});
  ScenarioSpec scanned = open;
  scanned.platforms[1].controls.e2ee_share = 1.0;
  scanned.platforms[1].controls.client_side_scanning = true;
  DayZero zo(open, 5), zs(scanned, 5);
  for (std::uint8_t t = 0; t < 3; ++t)
    EXPECT_NEAR(detail::platform_choice_shares(zs.s, t)[1], detail::platform_choice_shares(zo.s, t)[1], 1e-12);
}

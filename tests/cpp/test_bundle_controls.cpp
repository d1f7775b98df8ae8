// Engine controls the regulation bundles use (issue 22): group-add consent (on
// at the defaults), the Live restriction by age band, per-band
// minors_can_change and separate thresholds for existing accounts,
// and minors removed by a minimum age who move to other platforms.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "model_util.hpp"
#include "safesim/simulation.hpp"
#include "state.hpp"

using namespace safesim;
using namespace safesim::test;

namespace {

/// Build a run's structure and apply its controls at day 0 (no simulation).
void build(detail::State& s, const ScenarioSpec& spec, std::uint64_t seed) {
  s.spec = &spec;
  s.seed = seed;
  s.warmup = spec.warmup_days;
  detail::clear_cache();
  detail::build_structure(s);
  detail::build_operators(s);
  detail::finish_platforms(s);
}

/// Private profiles among members believed in [lo, hi], split by whether the
/// account exists at day 0: {private existing, existing, private later, later}.
std::array<std::size_t, 4> private_counts(const detail::State& s, int lo, int hi) {
  std::array<std::size_t, 4> n{};
  const detail::PlatformState& P = s.platforms[0];
  for (std::size_t k = 0; k < P.user.size(); ++k) {
    const int b = P.believed_age[k];
    if (b < lo || b > hi || (P.settings[k] & detail::kRemoved) != 0) continue;
    const bool later = P.join_day[k] > 0;
    const bool priv = (P.settings[k] & detail::kPrivate) != 0;
    n[later ? 2 : 0] += priv ? 1 : 0;
    n[later ? 3 : 1] += 1;
  }
  return n;
}

/// Paired difference of a metric in one output scope (1 + platform index).
Paired paired_scope(const ScenarioSpec& a, const ScenarioSpec& b, Metric m, std::size_t scope, int n = 12) {
  const auto sd = seeds(n);
  const auto ra = run_many(a, sd, 2);
  const auto rb = run_many(b, sd, 2);
  std::vector<double> d;
  for (std::size_t i = 0; i < sd.size(); ++i) d.push_back(rb[i].total(m, scope) - ra[i].total(m, scope));
  Paired p;
  p.mean = std::accumulate(d.begin(), d.end(), 0.0) / n;
  double ss = 0;
  for (double x : d) ss += (x - p.mean) * (x - p.mean);
  p.half_width = 2.2 * std::sqrt(ss / (n - 1) / n);
  return p;
}

}  // namespace

// ---------------------------------------------------------------- per-band minors_can_change

TEST(BundleControls, MinorsBelowTheChangeAgeKeepThePrivateDefault) {
  ScenarioSpec spec = small(8000, 60);
  ControlsSpec& c = spec.platforms[0].controls;
  c.private_by_default.age_threshold = 18;
  c.private_by_default.change_prob = 1.0;  // every minor who may switch it off does
  c.parental_supervision.uptake = 0.0;     // no parent locks
  spec.response.voluntary_private_share = 0.0;
  detail::State all_may;
  build(all_may, spec, 5);
  // Everyone may change and does: nobody keeps the default.
  const auto a13 = private_counts(all_may, 13, 15), a16 = private_counts(all_may, 16, 17);
  EXPECT_EQ(a13[0] + a13[2], 0u);
  EXPECT_EQ(a16[0] + a16[2], 0u);
  // From 16 on: every believed 13-15 keeps it, no believed 16-17 does.
  c.private_by_default.minors_can_change_from_age = 16;
  detail::State banded;
  build(banded, spec, 5);
  const auto b13 = private_counts(banded, 13, 15), b16 = private_counts(banded, 16, 17);
  ASSERT_GT(b13[1] + b13[3], 100u);
  ASSERT_GT(b16[1] + b16[3], 100u);
  EXPECT_EQ(b13[0] + b13[2], b13[1] + b13[3]);
  EXPECT_EQ(b16[0] + b16[2], 0u);
  // The old switch still locks every band.
  c.private_by_default.minors_can_change = false;
  detail::State locked;
  build(locked, spec, 5);
  const auto l16 = private_counts(locked, 16, 17);
  EXPECT_EQ(l16[0] + l16[2], l16[1] + l16[3]);
}

TEST(BundleControls, ExistingAccountsCanHaveTheirOwnThreshold) {
  ScenarioSpec spec = small(8000, 120);
  spec.population.signup_share = 0.4;  // many accounts join during the run
  ControlsSpec& c = spec.platforms[0].controls;
  c.private_by_default.age_threshold = 18;
  c.private_by_default.existing_age_threshold = 16;
  c.private_by_default.change_prob = 0.0;
  spec.response.voluntary_private_share = 0.0;
  detail::State s;
  build(s, spec, 9);
  const auto n16 = private_counts(s, 16, 17), n13 = private_counts(s, 13, 15);
  ASSERT_GT(n16[1], 50u);
  ASSERT_GT(n16[3], 20u);
  EXPECT_EQ(n16[0], 0u) << "existing 16-17 accounts are below neither threshold's reach";
  EXPECT_EQ(n16[2], n16[3]) << "new 16-17 accounts get the new-account default";
  EXPECT_EQ(n13[0], n13[1]);
  EXPECT_EQ(n13[2], n13[3]);
}

// ---------------------------------------------------------------- group-add consent

namespace {
ScenarioSpec groups_only() {
  ScenarioSpec s = small(6000, 120);
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor})
    t->channels = {0, 0, 0, 1};  // every contact is found in a shared group
  s.response.group_add_share = 1.0;
  s.benign.group_adds_per_minor_day = 0.05;
  return s;
}
}  // namespace

TEST(BundleControls, GroupAddConsentStopsGroupAddsAndBlocksLegitimateOnes) {
  const ScenarioSpec base = groups_only();
  ScenarioSpec consent = base;
  consent.platforms[0].controls.group_add_consent = true;
  const Paired contacted = paired(base, consent, Metric::minors_contacted);
  std::printf("  minors_contacted %+.1f +- %.1f\n", contacted.mean, contacted.half_width);
  EXPECT_LT(contacted.mean + contacted.half_width, 0);
  const Paired prevented = paired(base, consent, Metric::contacts_prevented);
  EXPECT_GT(prevented.mean - prevented.half_width, 0);
  const Paired blocked = paired(base, consent, Metric::legit_contacts_blocked);
  std::printf("  legit_contacts_blocked %+.1f +- %.1f\n", blocked.mean, blocked.half_width);
  EXPECT_GT(blocked.mean - blocked.half_width, 0);
}

TEST(BundleControls, GroupAddsBypassTheDmPolicyUnlessConsentIsRequired) {
  ScenarioSpec dm_only = groups_only();
  dm_only.platforms[0].controls.dm_policy = {DmPolicy::disabled, DmPolicy::disabled, DmPolicy::disabled};
  dm_only.response.group_add_share = 0.0;
  ScenarioSpec adds = dm_only;
  adds.response.group_add_share = 0.5;
  const RunOutput none = run(dm_only, 3), half = run(adds, 3);
  // With DMs disabled only minors the platform believes adult are reached; group-chat adds are not DMs.
  EXPECT_GT(half.total(Metric::minors_contacted), none.total(Metric::minors_contacted) + 20);
  // Requiring consent stops the adds to believed minors: the same minors as with DMs alone are reached.
  adds.platforms[0].controls.group_add_consent = true;
  EXPECT_EQ(run(adds, 3).total(Metric::minors_contacted), none.total(Metric::minors_contacted));
}

TEST(BundleControls, GroupAddConsentFollowsContactProtectionsAgainst) {
  // Legitimate adds come from unconnected peers: protected against under
  // per_surface (as DMs), not when protections apply to believed adults only.
  ScenarioSpec base = groups_only();
  base.platforms[0].controls.contact_protections_against = ProtectionsAgainst::believed_adults;
  ScenarioSpec consent = base;
  consent.platforms[0].controls.group_add_consent = true;
  const auto sd = seeds(3);
  const auto a = run_many(base, sd, 2), b = run_many(consent, sd, 2);
  for (std::size_t i = 0; i < sd.size(); ++i)
    EXPECT_EQ(a[i].total(Metric::legit_contacts_blocked), b[i].total(Metric::legit_contacts_blocked));
}

TEST(BundleControls, WithoutGroupAddsTheConsentChangesNothing) {
  ScenarioSpec base = small(5000, 90);
  base.response.group_add_share = 0.0;  // the pre-2024 model: no group-chat adds at all
  base.benign.group_adds_per_minor_day = 0.0;
  ScenarioSpec consent = base;
  consent.platforms[0].controls.group_add_consent = true;
  EXPECT_EQ(output_hash(run(base, 4)), output_hash(run(consent, 4)));
}

TEST(BundleControls, AtTheDefaultsGroupAddConsentChangesOutcomes) {
  // The defaults carry group-chat adds (response.group_add_share, benign.group_adds_per_minor_day), so a
  // bundle's group-add measure acts without a scenario setting them (issue 22).
  const ScenarioSpec defaults = default_scenario();
  EXPECT_GT(defaults.response.group_add_share, 0.0);
  EXPECT_GT(defaults.benign.group_adds_per_minor_day, 0.0);
  ScenarioSpec base = small(6000, 120);
  ScenarioSpec consent = base;
  consent.platforms[0].controls.group_add_consent = true;
  const Paired prevented = paired(base, consent, Metric::contacts_prevented);
  std::printf("  contacts_prevented %+.1f +- %.1f\n", prevented.mean, prevented.half_width);
  EXPECT_GT(prevented.mean - prevented.half_width, 0);
  const Paired blocked = paired(base, consent, Metric::legit_contacts_blocked);
  std::printf("  legit_contacts_blocked %+.1f +- %.1f\n", blocked.mean, blocked.half_width);
  EXPECT_GT(blocked.mean - blocked.half_width, 0);
}

// ---------------------------------------------------------------- Live restriction by age band

namespace {
/// Every offender contact found through minors' public content, all of it
/// from livestreams, on a platform where every minor is public.
ScenarioSpec live_only() {
  ScenarioSpec s = small(6000, 120);
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor})
    t->channels = {0, 0, 1, 0};
  s.response.livestream_share = 1.0;
  s.response.voluntary_private_share = 0.0;
  s.platforms[0].controls.private_by_default.age_threshold = 0;
  return s;
}
}  // namespace

TEST(BundleControls, LiveRestrictionCoversOnlyMinorsBelowItsAge) {
  const ScenarioSpec open = live_only();
  ScenarioSpec every = open;
  every.platforms[0].controls.livestream_restrictions = true;  // threshold 18: every believed minor
  ScenarioSpec under16 = every;
  under16.platforms[0].controls.livestream_age_threshold = 16;
  // Under-16s lose the livestream share of discovery: fewer minors reached than with Live open to all.
  const Paired teen = paired(open, under16, Metric::minors_contacted);
  std::printf("  under-16 restriction vs open: minors_contacted %+.1f +- %.1f\n", teen.mean, teen.half_width);
  EXPECT_LT(teen.mean + teen.half_width, 0);
  // 16-17-year-olds may still go live: more minors reached than when every believed minor is restricted.
  const Paired older = paired(every, under16, Metric::minors_contacted);
  std::printf("  under-16 vs every minor: minors_contacted %+.1f +- %.1f\n", older.mean, older.half_width);
  EXPECT_GT(older.mean - older.half_width, 0);
  // Threshold 0 restricts nobody: the run is the unrestricted one, bit for bit.
  ScenarioSpec nobody = every;
  nobody.platforms[0].controls.livestream_age_threshold = 0;
  EXPECT_EQ(output_hash(run(nobody, 4)), output_hash(run(open, 4)));
}

// ---------------------------------------------------------------- removed minors move

namespace {
/// An age-restricted social platform (minimum age 16, checked) and a
/// messaging service outside the law (minimum age 13, self-declared).
ScenarioSpec restricted_and_outside(double displaced, bool by_timeline) {
  ScenarioSpec s = small(8000, 150);
  s.platforms[0].name = "social";
  PlatformSpec outside;
  outside.name = "messaging";
  outside.kind = PlatformKind::messaging;
  outside.user_share = 0.3;
  s.platforms.push_back(outside);
  PlatformSpec law = s.platforms[0];
  law.controls.minimum_age = 16;
  law.controls.age_assurance = {AgeAssurance::verification, 1.0, 0.0, true};
  if (by_timeline) {
    s.timeline.push_back({.day = 30, .platform = 0, .description = "minimum age 16", .after = law});
  } else {
    s.platforms[0] = law;
  }
  s.population.displaced_join_prob = displaced;
  return s;
}
}  // namespace

TEST(BundleControls, RemovedMinorsJoinOtherPlatformsFromTheDayOfRemoval) {
  const ScenarioSpec before = restricted_and_outside(0.0, true), after = restricted_and_outside(0.6, true);
  detail::State a, b;
  build(a, before, 21);
  build(b, after, 21);
  ASSERT_EQ(a.pop.minors, b.pop.minors) << "the population is the same: minors are conserved";
  const detail::PlatformState &A = a.platforms[1], &B = b.platforms[1];
  EXPECT_EQ(a.platforms[0].user, b.platforms[0].user) << "the restricted platform's members are unchanged";
  std::size_t moved = 0;
  for (std::size_t k = 0; k < B.user.size(); ++k) {
    if (k > 0) {
      ASSERT_LT(B.user[k - 1], B.user[k]) << "members stay in user order";
    }
    const std::uint32_t id = B.user[k];
    if (A.local_of[id] != detail::kNone) continue;
    ++moved;
    // Only minors the law removes move: under 16 and on the restricted platform.
    EXPECT_LT(b.pop.age[id], 16);
    EXPECT_NE(b.platforms[0].local_of[id], detail::kNone);
    // Joins when the law removes him: day 30 of a run without warm-up, or when he joins the social platform later.
    const auto social_join = b.platforms[0].join_day[b.platforms[0].local_of[id]];
    EXPECT_EQ(B.join_day[k], std::max<int>(30, social_join));
  }
  std::printf("  %zu removed minors moved to the messaging service\n", moved);
  EXPECT_GT(moved, 100u);
  for (std::uint32_t id : A.user) EXPECT_NE(B.local_of[id], detail::kNone) << "nobody leaves the other platform";
}

TEST(BundleControls, ExposureOutsideTheLawRisesWithTheMoveProbability) {
  const ScenarioSpec none = restricted_and_outside(0.0, false), most = restricted_and_outside(0.8, false);
  const Paired attempts = paired_scope(none, most, Metric::contact_attempts, 2);
  std::printf("  contact_attempts on the messaging service %+.1f +- %.1f\n", attempts.mean, attempts.half_width);
  EXPECT_GT(attempts.mean - attempts.half_width, 0);
}

// population.ageing: birthdays, 18-year-olds leaving, joiners, and the cohort
// measures (docs/model/submodels/ageing.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "model_util.hpp"
#include "safesim/rng.hpp"
#include "safesim/simulation.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

using namespace safesim;
using safesim::test::small;

namespace {

constexpr std::size_t kCols = kCohortColumns.size();

std::size_t column(std::string_view name) {
  for (std::size_t c = 0; c < kCols; ++c)
    if (kCohortColumns[c] == name) return c;
  ADD_FAILURE() << "no cohort column " << name;
  return 0;
}

ScenarioSpec ageing(std::int64_t users, std::int64_t years, std::int64_t youngest) {
  ScenarioSpec s = small(users, 365 * years);
  s.population.ageing = true;
  s.population.youngest_age = youngest;
  return s;
}

// A run's state built as run() builds it (population, memberships, controls,
// strangers' clocks; the ageing timeline when the scenario ages), before day 0.
void build_state(detail::State& s, const ScenarioSpec& spec, std::uint64_t seed) {
  s.spec = &spec;
  s.seed = seed;
  s.total_days = spec.warmup_days + spec.horizon_days;
  s.metrics.scopes = spec.platforms.size() + 1;
  s.metrics.days = s.total_days;
  s.metrics.daily.assign(s.metrics.scopes * static_cast<std::size_t>(s.total_days) * kMetricCount, 0.0);
  s.metrics.groups.assign(s.metrics.scopes * kGroupCount * kGroupMetricCount, 0.0);
  detail::clear_cache();
  detail::build_structure(s);
  detail::build_operators(s);
  detail::finish_platforms(s);
  if (spec.population.ageing) detail::prepare_ageing(s);
}

}  // namespace

TEST(Cohort, EverMatchesAHandComputedConstantHazard) {
  // No offenders and every gate open, one platform, every minor's acceptance
  // probability at its cap (accept_scale x vulnerability far above
  // max_accept_prob): each minor accepts a stranger at the constant daily
  // hazard h = max_accept_prob x (adult + peer stranger contacts per
  // minor-day) (strangers.cpp). A cohort member joins at youngest_age and
  // turns a + 1 exactly 365 (a + 1 - youngest) days later, so the share who
  // ever accepted one by the end of age a is 1 - exp(-h 365 (a + 1 - youngest)).
  ScenarioSpec s = ageing(6000, 6, 14);
  s.offenders.share_of_adults = 0;
  s.population.signup_share = 0;
  auto& c = s.platforms[0].controls;
  c.dm_policy = {DmPolicy::open, DmPolicy::open, DmPolicy::open};
  c.request_filtering.mutuals_required = false;
  s.response.accept_scale = 1000;
  s.response.max_accept_prob = 0.01;
  s.benign.stranger_adult_contacts_per_minor_day = 0.02;
  s.benign.peer_stranger_contacts_per_minor_day = 0.03;
  const double h = 0.01 * (0.02 + 0.03);
  const auto outs = run_many(s, test::seeds(4), 2);
  std::vector<double> pooled(kCohortAges * kCols, 0.0);
  double completed = 0, ever = 0;
  for (const RunOutput& o : outs) {
    ASSERT_EQ(o.cohort.size(), kCohortAges * kCols);
    for (std::size_t k = 0; k < pooled.size(); ++k) pooled[k] += o.cohort[k];
    completed += o.total(Metric::cohort_completed);
    ever += o.total(Metric::minors_accepted_stranger_ever);
  }
  const std::size_t members = column("members"), accepted = column("accepted_stranger");
  int rows = 0;
  for (std::size_t a = 0; a < kCohortAges; ++a) {
    const double n = pooled[a * kCols + members];
    if (a < 14) {
      EXPECT_EQ(n, 0) << "nobody is observed to the end of an age below youngest_age";
      continue;
    }
    ASSERT_GT(n, 500) << "age " << a;
    const double p = 1.0 - std::exp(-h * 365.0 * static_cast<double>(a + 1 - 14));
    const double share = pooled[a * kCols + accepted] / n;
    const double half = 3.3 * std::sqrt(p * (1 - p) / n);  // binomial, 99.9%
    std::printf("  by the end of age %zu: %.4f of %.0f (hand: %.4f +- %.4f)\n", a, share, n, p, half);
    EXPECT_NEAR(share, p, half) << "age " << a;
    ++rows;
  }
  EXPECT_EQ(rows, 4);
  // The *_ever metric is the last row: members who turned 18.
  EXPECT_EQ(completed, pooled[17 * kCols + members]);
  EXPECT_EQ(ever, pooled[17 * kCols + accepted]);
}

TEST(Cohort, MinorPoolStaysStationaryOverYears) {
  // Ages 8-17, five years: half of the minors at the start turn 18 within
  // the run and as many children join; honest children under the minimum
  // age join at it. No late sign-ups (signup_share spreads them over the
  // horizon: growth by design). The minors (ecosystem and platform) stay
  // within noise of the start on every day.
  ScenarioSpec s = ageing(8000, 5, 8);
  s.population.signup_share = 0;
  const RunOutput o = run(s, 3);
  for (std::size_t sc = 0; sc < o.scopes(); ++sc) {
    const double start = o.day_value(Metric::minors, 0, sc);
    ASSERT_GT(start, 1000);
    double lo = start, hi = start;
    for (std::int64_t d = 0; d < o.days; ++d) {
      lo = std::min(lo, o.day_value(Metric::minors, d, sc));
      hi = std::max(hi, o.day_value(Metric::minors, d, sc));
    }
    std::printf("  scope %zu: minors %.0f at the start, %.0f to %.0f over five years\n", sc, start, lo, hi);
    EXPECT_LT(hi - start, 4 * std::sqrt(start));
    EXPECT_LT(start - lo, 4 * std::sqrt(start));
  }
  // The cohort is not complete in five years from age 8: no *_ever yet.
  EXPECT_EQ(o.total(Metric::cohort_completed), 0);
  EXPECT_GT(o.cohort[11 * kCols], 0);  // but observed to the end of age 11 (four years)
  EXPECT_EQ(o.cohort[12 * kCols], 0);
}

TEST(Cohort, GroupsAddUpAndNobodyOver17IsCounted) {
  // Many offenders over five years with 15-17-year-olds: a third of the
  // minors turn 18 each year, some in open conversations. Every group sum
  // still equals its total (a count for an 18-year-old would fall outside
  // the 0-17 groups), and conversations end at the birthday.
  ScenarioSpec s = ageing(8000, 5, 15);
  s.offenders.share_of_adults = 0.1;
  const RunOutput o = run(s, 5);
  EXPECT_GT(o.total(Metric::dyads_aged_out), 0);
  EXPECT_GT(o.total(Metric::minors_exploited_ever), 0);
  for (std::size_t sc = 0; sc < o.scopes(); ++sc)
    for (std::size_t k = 0; k < kGroupMetricCount; ++k) {
      double sum = 0;
      for (std::size_t g = 0; g < kGroupCount; ++g)
        sum += o.group_totals[(sc * kGroupCount + g) * kGroupMetricCount + k];
      EXPECT_NEAR(sum, o.total(kGroupMetrics[k], sc), 1e-9 * (1 + sum)) << kMetrics[idx(kGroupMetrics[k])].name;
    }
  // The outcomes nest by age: a member counted by the end of age a is counted at every later age.
  const std::size_t contacted = column("contacted"), exploited = column("exploited");
  for (std::size_t a = 16; a < kCohortAges; ++a) {
    const double* prev = &o.cohort[(a - 1) * kCols];
    const double* row = &o.cohort[a * kCols];
    EXPECT_LE(row[0], prev[0]);
    EXPECT_LE(row[exploited], row[contacted]);
    EXPECT_LE(row[contacted], row[0]);
  }
}

TEST(Cohort, AnyPerpetratorEverMeasuresCountPeersApart) {
  // The lifetime measures a survey of "anyone" maps to (*_any_ever) count
  // adult offenders and peer perpetrators; the adult ones (*_ever) only
  // adults. Without peers each pair is equal; with peers the any-perpetrator
  // measure is at least as large, and exploitation by anyone is the union of
  // its kinds.
  struct Pair {
    Metric adult, any;
  };
  const std::array<Pair, 6> pairs = {{
      {Metric::minors_contacted_ever, Metric::minors_contacted_any_ever},
      {Metric::minors_solicited_ever, Metric::minors_solicited_any_ever},
      {Metric::minors_exploited_ever, Metric::minors_exploited_any_ever},
      {Metric::minors_images_obtained_ever, Metric::minors_images_obtained_any_ever},
      {Metric::minors_sextorted_ever, Metric::minors_sextorted_any_ever},
      {Metric::minors_met_offline_ever, Metric::minors_met_offline_any_ever},
  }};
  ScenarioSpec adults_only = ageing(8000, 5, 15);
  adults_only.offenders.share_of_adults = 0.05;
  ScenarioSpec with_peers = adults_only;
  with_peers.offenders.peer_share = 0.08;
  with_peers.offenders.peer.contacts_per_day = 0.5;
  with_peers.offenders.peer.sextortion_share = 0.3;
  with_peers.offenders.peer.meeting_share = 0.4;
  const RunOutput a = run(adults_only, 7);
  const RunOutput b = run(with_peers, 7);
  ASSERT_GT(a.total(Metric::cohort_completed), 0);
  for (const Pair& q : pairs) {
    const std::string name(kMetrics[idx(q.any)].name);
    EXPECT_EQ(a.total(q.any), a.total(q.adult)) << name;
    EXPECT_GE(b.total(q.any), b.total(q.adult)) << name;
    EXPECT_LE(b.total(q.any), b.total(Metric::cohort_completed)) << name;
  }
  EXPECT_GT(a.total(Metric::minors_exploited_ever), 0);
  EXPECT_GT(b.total(Metric::minors_contacted_any_ever), b.total(Metric::minors_contacted_ever));
  EXPECT_GT(b.total(Metric::minors_exploited_any_ever), b.total(Metric::minors_exploited_ever));
  const double kinds[] = {b.total(Metric::minors_images_obtained_any_ever), b.total(Metric::minors_sextorted_any_ever),
                          b.total(Metric::minors_met_offline_any_ever)};
  EXPECT_GE(b.total(Metric::minors_exploited_any_ever), *std::max_element(std::begin(kinds), std::end(kinds)));
  EXPECT_LE(b.total(Metric::minors_exploited_any_ever), kinds[0] + kinds[1] + kinds[2]);
}

TEST(Cohort, BirthdaysAreBucketedAndAgeingTouchesOnlyTodaysBirthdays) {
  // Birthdays are keyed by the user id and bucketed once at build; each
  // day's ageing events are exactly the users of that day's bucket who have
  // joined, and the platforms' minor lists and counts stay what a full
  // recount gives (also after the controls are applied again mid-run).
  ScenarioSpec spec = ageing(5000, 3, 10);
  detail::State s;
  build_state(s, spec, 21);
  const detail::Population& pop = s.pop;
  ASSERT_EQ(pop.birthday_start.size(), 366u);
  ASSERT_EQ(pop.birthday_users.size(), pop.minors.size());
  std::vector<int> seen(pop.size(), 0);
  for (std::uint32_t b = 0; b < 365; ++b)
    for (std::uint32_t k = pop.birthday_start[b]; k < pop.birthday_start[b + 1]; ++k) {
      const std::uint32_t u = pop.birthday_users[k];
      ++seen[u];
      const std::uint32_t want = u >= pop.first_joiner ? pop.joiner_day[u - pop.first_joiner] % 365u
                                                       : rng::Draw(s.seed, streams::birthday, u, 0).below(365);
      EXPECT_EQ(b, want) << "user " << u;
    }
  for (std::uint32_t u : pop.minors) EXPECT_EQ(seen[u], 1);
  const std::size_t joiners = pop.joiner_day.size();
  EXPECT_NEAR(static_cast<double>(joiners),
              static_cast<double>(pop.first_joiner) * spec.population.minor_share / 8.0 * 3,
              0.05 * static_cast<double>(joiners));
  detail::PlatformState& P = s.platforms[0];
  for (s.day = 0; s.day < s.total_days; ++s.day) {
    const std::uint64_t before = s.ageing.birthdays + s.ageing.joins;
    const auto b = static_cast<std::size_t>(s.day % 365);
    std::uint64_t due = 0;
    for (std::uint32_t k = pop.birthday_start[b]; k < pop.birthday_start[b + 1]; ++k)
      due += pop.unjoined(pop.birthday_users[k], s.day) ? 0 : 1;
    detail::age_population(s);
    ASSERT_EQ(s.ageing.birthdays + s.ageing.joins - before, due) << "day " << s.day;
    if (s.day == 500) detail::apply_controls(s, 0, false);  // a timeline event: the lists are rebuilt, then kept
    if (s.day % 200 != 0 && s.day != s.total_days - 1) continue;
    // A full recount of the platform's minors against its maintained lists.
    std::size_t minors = 0, active = 0;
    std::size_t in_bands = 0;
    for (std::size_t k = 0; k < P.user.size(); ++k) {
      const std::uint32_t u = P.user[k];
      if (pop.age[u] >= 18 || P.join_day[k] > s.day) {
        EXPECT_EQ(P.minor_pos[k], detail::kNone);
        continue;
      }
      ++minors;
      ASSERT_NE(P.minor_pos[k], detail::kNone);
      EXPECT_EQ(P.minors[P.minor_pos[k]], k);
      if ((P.settings[k] & detail::kRemoved) != 0) continue;
      ++active;
      const auto& band = P.minors_by_band[detail::band_of(P.believed_age[k])];
      ASSERT_LT(P.band_pos[k], band.size());
      EXPECT_EQ(band[P.band_pos[k]], k);
    }
    for (const auto& band : P.minors_by_band) in_bands += band.size();
    EXPECT_EQ(P.minors.size(), minors) << "day " << s.day;
    EXPECT_EQ(P.minors_active, active) << "day " << s.day;
    EXPECT_EQ(in_bands, active) << "day " << s.day;
    // The ecosystem's people on a platform, kept by joins and birthdays, against a recount.
    const double eco_minors = s.ageing.eco_minors, eco_users = s.ageing.eco_joined;
    detail::count_presence(s);
    EXPECT_EQ(s.ageing.eco_minors, eco_minors) << "day " << s.day;
    EXPECT_EQ(s.ageing.eco_joined, eco_users) << "day " << s.day;
  }
}

TEST(Cohort, StrangersClockStopsAtTheFirstMinorNotYetDue) {
  // advance_strangers keeps the due time at the head of each band's order,
  // so a tick with nobody due returns without reading it. Birthdays move
  // minors between bands (stranger_enter) and may change the due time at a
  // head; whatever the path, each call must leave every band as a full scan
  // would: the head of the order and of the late heap not yet due.
  ScenarioSpec spec = ageing(5000, 3, 10);
  detail::State s;
  build_state(s, spec, 5);
  detail::PlatformState& P = s.platforms[0];
  std::size_t early = 0, scanned = 0, passed = 0;
  for (s.day = 0; s.day < s.total_days; ++s.day) {
    detail::age_population(s);
    for (int tick = 0; tick < 4; ++tick) {
      for (int band = 0; band < 4; ++band) {
        const auto b = static_cast<std::size_t>(band);
        const std::size_t next = P.stranger_next[b];
        const bool known = P.stranger_head[b] != detail::PlatformState::kUnknownHead;
        // Older bands' clocks run slower, so a birthday moves a minor to a
        // band whose clock is behind: its due time drops, at the head too.
        detail::ScopeEffects later;
        detail::advance_strangers(s, 0, band, tick == 0 ? 0.08 / (1 << band) : 0.0, later);
        detail::apply_scope_effects(s, 0, later);
        const double clock = P.stranger_clock[b];
        const auto& order = P.stranger_order[b];
        const std::size_t at = P.stranger_next[b];
        passed += at - next;
        (known && at == next ? early : scanned) += 1;
        ASSERT_TRUE(at == order.size() || P.stranger_due[order[at]] > clock)
            << "day " << s.day << " band " << band << ": a due minor was left at the head";
        ASSERT_TRUE(P.stranger_late[b].empty() || P.stranger_late[b].front().first > clock)
            << "day " << s.day << " band " << band << ": a due late entrant was left";
        if (at < order.size()) {
          EXPECT_EQ(P.stranger_head[b], P.stranger_due[order[at]]);
        }
      }
    }
  }
  EXPECT_GT(early, 1000u);  // the ticks with nobody due that the kept head answered
  EXPECT_GT(passed, 500u);  // minors passed on the way
  EXPECT_GT(s.ageing.birthdays, 500u);
  EXPECT_GT(scanned, 100u);
}

TEST(Cohort, StrangersHeadIsReadAgainWhenItsMinorMoves) {
  // The minor at the head of band 1's order has a birthday into band 2,
  // whose clock is behind: its due time drops below band 1's clock. A full
  // scan of band 1 now passes it (a stale entry) and goes on; the kept head
  // must not answer "nobody due".
  ScenarioSpec spec = small(5000, 30);
  detail::State s;
  build_state(s, spec, 9);
  detail::PlatformState& P = s.platforms[0];
  const auto& order = P.stranger_order[1];
  ASSERT_GT(order.size(), 10u);
  detail::ScopeEffects later;
  detail::advance_strangers(s, 0, 1, 0.0, later);  // the head is now kept
  const std::size_t head = P.stranger_next[1];
  ASSERT_LT(head + 1, order.size());
  const std::uint32_t m = order[head];
  ASSERT_GT(P.stranger_due[m], P.stranger_clock[1]);
  ASSERT_EQ(P.stranger_head[1], P.stranger_due[m]);
  // Band 2's clock far behind band 1's, then the birthday.
  P.stranger_clock[2] = P.stranger_clock[1] - 1e4;
  detail::stranger_enter(s, 0, m, 2);
  ASSERT_LE(P.stranger_due[m], P.stranger_clock[1]);
  detail::advance_strangers(s, 0, 1, 0.0, later);
  EXPECT_GT(P.stranger_next[1], head) << "the moved minor's stale entry still stops band 1";
  ASSERT_TRUE(P.stranger_next[1] == order.size() || P.stranger_due[order[P.stranger_next[1]]] > P.stranger_clock[1]);
}

TEST(Cohort, SameResultsAtAnyThreadCountAndNothingWithoutAgeing) {
  ScenarioSpec s = ageing(4000, 3, 12);
  const auto sd = test::seeds(3);
  const auto one = run_many(s, sd, 1);
  const auto three = run_many(s, sd, 3);
  for (std::size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(output_hash(one[i]), output_hash(three[i]));
    EXPECT_EQ(one[i].cohort, three[i].cohort);
  }
  s.population.ageing = false;
  const RunOutput off = run(s, sd[0]);
  EXPECT_TRUE(off.cohort.empty());
  EXPECT_EQ(off.total(Metric::cohort_completed), 0);
  EXPECT_EQ(off.total(Metric::dyads_aged_out), 0);
  for (std::int64_t d = 1; d < off.days; ++d)
    EXPECT_EQ(off.day_value(Metric::minors, d), off.day_value(Metric::minors, 0));
}

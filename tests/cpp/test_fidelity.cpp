// Model fidelity: what youth surveys count. Exploitation by kind (images
// obtained, sextortion demand, offline meeting), and offenders who remember
// the minors who refused them and come back from other accounts.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "model_util.hpp"
#include "safesim/oracle.hpp"
#include "safesim/simulation.hpp"
#include "state.hpp"

using namespace safesim;
using safesim::test::paired;
using safesim::test::Paired;
using safesim::test::small;

namespace {

// Whole pages past a vector's size, and how many of them are resident.
struct TailPages {
  std::size_t pages = 0, resident = 0;
};
TailPages tail_pages(const std::vector<double>& v) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const std::uintptr_t from = (reinterpret_cast<std::uintptr_t>(v.data() + v.size()) + page - 1) / page * page;
  const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(v.data() + v.capacity()) / page * page;
  TailPages t;
  if (end <= from) return t;
  t.pages = (end - from) / page;
  std::vector<unsigned char> in(t.pages);
  if (mincore(reinterpret_cast<void*>(from), end - from, in.data()) != 0) return {};
  for (unsigned char c : in) t.resident += c & 1;
  return t;
}

void set_revisits(ScenarioSpec& s, double prob) {
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor})
    t->revisit_prob = prob;
}

}  // namespace

TEST(Fidelity, ExploitationIsTheUnionOfItsKinds) {
  ScenarioSpec s = small(20000, 365);
  s.offenders.groomer.share = 0.65;
  s.offenders.sextortion.share = 0.05;
  s.offenders.distributor.share = 0.3;
  s.offenders.groomer.meeting_share = 0.5;
  s.offenders.distributor.meeting_share = 0.5;
  for (std::uint64_t seed : {31u, 32u}) {
    const RunOutput out = run(s, seed);
    std::printf("  exploited %g: images %g, sextorted %g, met offline %g\n", out.total(Metric::minors_exploited),
                out.total(Metric::minors_images_obtained), out.total(Metric::minors_sextorted),
                out.total(Metric::minors_met_offline));
    for (std::size_t sc = 0; sc < out.scopes(); ++sc) {
      const double all = out.total(Metric::minors_exploited, sc);
      const double images = out.total(Metric::minors_images_obtained, sc);
      const double demand = out.total(Metric::minors_sextorted, sc);
      const double meeting = out.total(Metric::minors_met_offline, sc);
      EXPECT_LE(all, images + demand + meeting) << "a minor exploited in no kind";
      EXPECT_GE(all, std::max({images, demand, meeting})) << "a kind counted without the exploitation";
    }
    EXPECT_GT(out.total(Metric::minors_sextorted), 0);
    EXPECT_GT(out.total(Metric::minors_met_offline), 0);
    EXPECT_GT(out.total(Metric::minors_images_obtained), 0);
  }
}

TEST(Fidelity, EachKindFollowsItsShare) {
  // Groomers only; all meetings: nobody's images are obtained, and no
  // exploitation creates new material.
  ScenarioSpec s = small();
  s.offenders.groomer.share = 1.0;
  s.offenders.sextortion.share = s.offenders.distributor.share = 0.0;
  s.offenders.groomer.sextortion_share = 0.0;
  s.offenders.groomer.meeting_share = 1.0;
  s.content.exploitation_share_prob = 1.0;      // every image obtained is shared on the platform
  s.offenders.groomer.move_request_prob = 0.0;  // ... which the conversation never leaves
  const RunOutput meetings = run(s, 5);
  ASSERT_GT(meetings.total(Metric::minors_exploited), 0);
  EXPECT_EQ(meetings.total(Metric::minors_met_offline), meetings.total(Metric::minors_exploited));
  EXPECT_EQ(meetings.total(Metric::minors_images_obtained), 0);
  EXPECT_EQ(meetings.total(Metric::minors_sextorted), 0);
  // Images only: every exploited minor's images are obtained, and shared
  // (the material then feeds detection, so later events differ).
  s.offenders.groomer.meeting_share = 0.0;
  const RunOutput images = run(s, 5);
  ASSERT_GT(images.total(Metric::minors_exploited), 0);
  EXPECT_EQ(images.total(Metric::minors_images_obtained), images.total(Metric::minors_exploited));
  EXPECT_GT(images.total(Metric::material_copies), meetings.total(Metric::material_copies));
}

TEST(Fidelity, OracleSplitMatchesTheSimulatedKinds) {
  // Rare contact, so that few minors have two exploited dyads; groomers with
  // a demand share and a meeting share, fast to exploit. Shares are of
  // exploited minors: a minor exploited twice counts once in the total and
  // possibly in two kinds, which biases each share up by at most the share of
  // such minors (about 3% here) times the other kinds' share, well inside
  // the 99% interval.
  ScenarioSpec s = small(40000, 120);
  s.offenders.share_of_adults = 0.002;
  s.offenders.groomer.share = 1.0;
  s.offenders.sextortion.share = s.offenders.distributor.share = 0.0;
  OffenderTypeSpec& g = s.offenders.groomer;
  g.sextortion_share = 0.3;
  g.meeting_share = 0.2;
  g.repeat_prob = 0.0;
  g.dwell_hours = {2, 3, 2, 2};
  g.exit_per_day = {0.2, 0.2, 0.2, 0.2};
  g.report_per_day = {0.01, 0.01, 0.01, 0.01};
  g.contacts_per_day = 0.5;
  double dyads = 0, demand = 0, meeting = 0, images = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const RunOutput out = run(s, seed);
    std::printf("  seed %d: %g exploited dyads, %g exploited minors\n", static_cast<int>(seed),
                out.total(Metric::dyads_exploited, 1), out.total(Metric::minors_exploited, 1));
    dyads += out.total(Metric::minors_exploited, 1);
    demand += out.total(Metric::minors_sextorted, 1);
    meeting += out.total(Metric::minors_met_offline, 1);
    images += out.total(Metric::minors_images_obtained, 1);
  }
  ASSERT_GT(dyads, 200) << "too few exploited dyads for the comparison";
  DyadContext ctx;
  ctx.vulnerability = 0.5;
  const DyadOutcome o = dyad_outcome(g, s.platforms[0], s.response, ctx);
  ASSERT_GT(o.exploited, 0);
  auto expect_share = [&](const char* what, double k, double oracle_share) {
    const double p = k / dyads;
    const double se = std::sqrt(oracle_share * (1 - oracle_share) / dyads);
    EXPECT_NEAR(p, oracle_share, 2.5758 * se) << what;
  };
  expect_share("sextorted", demand, o.sextorted / o.exploited);
  expect_share("met_offline", meeting, o.met_offline / o.exploited);
  expect_share("images_obtained", images, o.images_obtained / o.exploited);
  // Harvested images: a demand no longer counts the minor's own images.
  ctx.harvested = true;
  const DyadOutcome h = dyad_outcome(g, s.platforms[0], s.response, ctx);
  EXPECT_NEAR(h.images_obtained, h.exploited * (1 - g.sextortion_share - g.meeting_share), 1e-12);
  EXPECT_NEAR(h.sextorted + h.met_offline + h.images_obtained, h.exploited, 1e-12);
}

TEST(Fidelity, TargetMemoryBringsRefusingMinorsBack) {
  ScenarioSpec off = small(), on = small();
  set_revisits(off, 0.0);
  set_revisits(on, 1.0);
  for (OffenderTypeSpec* t : {&on.offenders.groomer, &on.offenders.sextortion, &on.offenders.distributor})
    t->revisit_delay_days = 3.0;
  const Paired recontacted = paired(off, on, Metric::minors_recontacted);
  EXPECT_GT(recontacted.mean - recontacted.half_width, 0) << recontacted.mean << " +- " << recontacted.half_width;
  const Paired attempts = paired(off, on, Metric::recontacts_after_block);
  EXPECT_GT(attempts.mean - attempts.half_width, 0);
  // Recontacted minors are among those who blocked or reported.
  for (const ScenarioSpec* spec : {&off, &on}) {
    const RunOutput out = run(*spec, 9);
    for (std::size_t sc = 0; sc < out.scopes(); ++sc) {
      EXPECT_LE(out.total(Metric::minors_recontacted, sc),
                out.total(Metric::minors_blocking, sc) + out.total(Metric::minors_reporting, sc));
      EXPECT_LE(out.total(Metric::minors_recontacted, sc), out.total(Metric::recontacts_after_block, sc));
    }
  }
}

TEST(Fidelity, MemoryOffLeavesOnlyChanceRediscovery) {
  // With no memory, recontacts come only from the person's other accounts
  // finding the minor again by chance: one account per person and no ban
  // evasion leaves none at all.
  ScenarioSpec s = small();
  set_revisits(s, 0.0);
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor}) {
    t->accounts = 1.0;
    t->reentry_prob = 0.0;
  }
  s.offenders.arrivals_per_year = 0.0;
  const RunOutput out = run(s, 4);
  EXPECT_GT(out.total(Metric::minors_blocking), 0);
  EXPECT_EQ(out.total(Metric::recontacts_after_block), 0);
  // With memory, the same person comes back only through new accounts, which
  // ban evasion creates.
  set_revisits(s, 1.0);
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor})
    t->reentry_prob = 1.0;
  const RunOutput back = run(s, 4);
  EXPECT_GT(back.total(Metric::recontacts_after_block), 0);
}

TEST(Fidelity, WithTheDefaultWarmupTwoYearsAgreeOnDailyContactRates) {
  // Membership fixed (no late joiners: platform growth is a scenario input,
  // not drift), the default warm-up and offender replacement: the daily
  // contact rate of the second year is the first year's, within the paired
  // interval over seeds. Without the warm-up the first weeks run high (the
  // first bans land) and without replacement the offenders drain away.
  ScenarioSpec s = small(10000, 730);
  s.population.signup_share = 0.0;
  s.warmup_days = ScenarioSpec{}.warmup_days;
  ASSERT_GT(s.warmup_days, 0);
  const auto sd = safesim::test::seeds(10);
  const auto outs = run_many(s, sd, 2);
  std::vector<double> diff;
  for (const RunOutput& o : outs) {
    double first = 0, second = 0;
    for (std::int64_t d = 0; d < 365; ++d) first += o.day_value(Metric::contact_attempts, d);
    for (std::int64_t d = 365; d < 730; ++d) second += o.day_value(Metric::contact_attempts, d);
    ASSERT_GT(first, 100);
    diff.push_back((second - first) / first);
  }
  const double n = static_cast<double>(diff.size());
  const double mean = std::accumulate(diff.begin(), diff.end(), 0.0) / n;
  double ss = 0;
  for (double x : diff) ss += (x - mean) * (x - mean);
  const double half = 2.262 * std::sqrt(ss / (n - 1) / n);  // t(0.975, 9)
  std::printf("  second year against first: %+.3f +- %.3f\n", mean, half);
  EXPECT_LT(std::abs(mean), half + 0.02) << "daily contact rate drifts between the years: " << mean << " +- " << half;
  // And it does drift without replacement: fewer people offend each year.
  ScenarioSpec drain = s;
  drain.offenders.replacement = false;
  double first = 0, second = 0;
  for (const RunOutput& o : run_many(drain, sd, 2)) {
    for (std::int64_t d = 0; d < 365; ++d) first += o.day_value(Metric::contact_attempts, d);
    for (std::int64_t d = 365; d < 730; ++d) second += o.day_value(Metric::contact_attempts, d);
  }
  EXPECT_LT(second, first);
}

TEST(Fidelity, WarmupDaysAreSimulatedButNotCounted) {
  ScenarioSpec a = small(6000, 120);
  a.warmup_days = 0;
  ScenarioSpec b = a;
  b.warmup_days = 60;
  const RunOutput ra = run(a, 3), rb = run(b, 3);
  EXPECT_EQ(rb.days, 120);
  EXPECT_EQ(rb.daily.size(), ra.daily.size());
  // The warm-up's rows are not held either (the warm-up's days share one day
  // of rows, cleared each day): the run allocates, and a caller keeping many
  // outputs (run_many, a sweep) holds, the horizon's rows only.
  EXPECT_EQ(rb.daily.capacity(), ra.daily.capacity()) << "the warm-up's rows are allocated";
  const TailPages tail = tail_pages(rb.daily);
  EXPECT_EQ(tail.resident, 0u) << "pages past the output's size are still resident";
  EXPECT_NE(output_hash(ra), output_hash(rb));
  // Timeline days count from the end of the warm-up: closing DMs on day 30
  // prevents nothing before measured day 30 and something after it.
  ScenarioSpec c = b;
  TimelineEvent e;
  e.day = 30;
  e.after = c.platforms[0];
  e.after.controls.dm_policy = {DmPolicy::disabled, DmPolicy::disabled, DmPolicy::disabled};
  c.timeline.push_back(e);
  const RunOutput rc = run(c, 3);
  double before = 0, after = 0;
  for (std::int64_t d = 0; d < 30; ++d)
    before += rc.day_value(Metric::contacts_prevented, d) - rb.day_value(Metric::contacts_prevented, d);
  for (std::int64_t d = 30; d < 120; ++d)
    after += rc.day_value(Metric::contacts_prevented, d) - rb.day_value(Metric::contacts_prevented, d);
  EXPECT_EQ(before, 0);
  EXPECT_GT(after, 0);
}

TEST(Fidelity, EachPairIsOneTieAndMeanDegreeCountsDistinctContacts) {
  // Classes large enough that the within-class share is reachable: the mean
  // distinct degree is mean_degree, less the few out-of-class pairs drawn by
  // both members (merged).
  ScenarioSpec spec = small(20000, 10);
  spec.graph.mean_degree = 30;
  spec.graph.class_size = 60;
  detail::State s;
  s.spec = &spec;
  s.seed = 17;
  detail::build_structure(s);
  const detail::Graph& g = s.platforms[0].graph;
  const std::size_t n = s.platforms[0].user.size();
  std::size_t ends = 0;
  for (std::uint32_t v = 0; v < n; ++v) {
    for (std::uint32_t e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
      ASSERT_NE(g.targets[e], v) << "a self-tie";
      if (e > g.offsets[v]) {
        ASSERT_LT(g.targets[e - 1], g.targets[e]) << "a pair held twice in row " << v;
      }
      // Symmetric, with the same trusted flag both ways.
      const std::uint32_t w = g.targets[e];
      const auto first = g.targets.begin() + g.offsets[w], last = g.targets.begin() + g.offsets[w + 1];
      const auto back = std::lower_bound(first, last, v);
      ASSERT_TRUE(back != last && *back == v);
      ASSERT_EQ(g.trusted(static_cast<std::size_t>(back - g.targets.begin())), g.trusted(e));
    }
    ends += g.degree(v);
  }
  // Peer ties only (trusted family and coach ties come on top).
  std::size_t trusted = 0;
  for (std::size_t e = 0; e < g.targets.size(); ++e) trusted += g.trusted(e) ? 1 : 0;
  // Bits past the last edge stay clear.
  ASSERT_EQ(g.trusted_bits.size(), (g.targets.size() + 63) / 64);
  std::size_t bits = 0;
  for (std::uint64_t w : g.trusted_bits) bits += static_cast<std::size_t>(std::popcount(w));
  ASSERT_EQ(bits, trusted);
  ASSERT_GT(trusted, 0u) << "family and coach ties are trusted";
  const double peer_degree = static_cast<double>(ends - trusted) / static_cast<double>(n);
  std::printf("  mean distinct peer degree %.2f (mean_degree %.0f)\n", peer_degree, spec.graph.mean_degree);
  EXPECT_NEAR(peer_degree, spec.graph.mean_degree, 0.05 * spec.graph.mean_degree);
  // A class too small for its share is complete, and the rest of the
  // degree moves outside it: the mean still holds.
  spec.graph.class_size = 10;
  detail::State t;
  t.spec = &spec;
  t.seed = 17;
  detail::clear_cache();
  detail::build_structure(t);
  std::size_t ends_small = 0, trusted_small = 0;
  ends_small = t.platforms[0].graph.targets.size();
  for (std::size_t e = 0; e < ends_small; ++e) trusted_small += t.platforms[0].graph.trusted(e) ? 1 : 0;
  const double small_degree = static_cast<double>(ends_small - trusted_small) / static_cast<double>(n);
  std::printf("  with classes of 10: %.2f\n", small_degree);
  EXPECT_NEAR(small_degree, spec.graph.mean_degree, 0.05 * spec.graph.mean_degree);
}

TEST(Fidelity, AgeAndGenderGroupsAddUpToTheTotals) {
  ScenarioSpec s = small(8000, 120);
  const RunOutput out = run(s, 12);
  ASSERT_EQ(out.group_totals.size(), out.scopes() * kGroupCount * kGroupMetricCount);
  ASSERT_EQ(out.group_minors.size(), out.scopes() * kGroupCount);
  for (std::size_t sc = 0; sc < out.scopes(); ++sc) {
    for (std::size_t k = 0; k < kGroupMetricCount; ++k) {
      double sum = 0;
      for (std::size_t g = 0; g < kGroupCount; ++g)
        sum += out.group_totals[(sc * kGroupCount + g) * kGroupMetricCount + k];
      EXPECT_NEAR(sum, out.total(kGroupMetrics[k], sc), 1e-9 * (1 + sum)) << kMetrics[idx(kGroupMetrics[k])].name;
    }
    // Minors younger than the population's youngest age or adults: none.
    for (std::size_t g = 0; g < 2 * static_cast<std::size_t>(s.population.youngest_age); ++g)
      EXPECT_EQ(out.group_minors[sc * kGroupCount + g], 0);
  }
}

TEST(Fidelity, MinorsAcceptingStrangersFollowTheirFirstPassage) {
  // No offenders and every gate open: a minor accepts strangers at rate
  // a_m x k, k the stranger contacts per minor-day, so the expected number
  // who accepted one within T days is the sum over minors of
  // 1 - exp(-a_m k T), a_m = min(max_accept_prob, accept_scale x v_m).
  ScenarioSpec spec = small(20000, 60);
  spec.offenders.share_of_adults = 0;
  spec.population.signup_share = 0;
  auto& c = spec.platforms[0].controls;
  c.dm_policy = {DmPolicy::open, DmPolicy::open, DmPolicy::open};
  c.request_filtering.mutuals_required = false;
  spec.benign.stranger_adult_contacts_per_minor_day = 0.01;
  spec.benign.peer_stranger_contacts_per_minor_day = 0.02;
  const double k = 0.03;
  detail::State s;
  s.spec = &spec;
  s.seed = 21;
  detail::build_structure(s);
  detail::finish_platforms(s);
  double expected = 0, variance = 0;
  for (std::uint32_t m : s.platforms[0].minors) {
    const double v = s.pop.vulnerability[s.platforms[0].user[m]];
    const double a = std::min(spec.response.max_accept_prob, spec.response.accept_scale * v);
    const double p = 1 - std::exp(-a * k * static_cast<double>(spec.horizon_days));
    expected += p;
    variance += p * (1 - p);
  }
  const RunOutput out = run(spec, 21);
  const double got = out.total(Metric::minors_accepted_stranger);
  std::printf("  accepted a stranger: %.0f, expected %.1f +- %.1f\n", got, expected, std::sqrt(variance));
  EXPECT_NEAR(got, expected, 4 * std::sqrt(variance));
  // Closing DMs from strangers to every band leaves only minors believed adult.
  ScenarioSpec closed = spec;
  closed.platforms[0].controls.dm_policy = {DmPolicy::disabled, DmPolicy::disabled, DmPolicy::disabled};
  EXPECT_LT(run(closed, 21).total(Metric::minors_accepted_stranger), 0.5 * got);
}

TEST(Fidelity, EveryMinorWhoRepliedToAnOffenderAcceptedAStranger) {
  for (std::int64_t warmup : {0, 30}) {
    ScenarioSpec s = small(6000, 90);
    s.warmup_days = warmup;
    const RunOutput out = run(s, 8);
    for (std::size_t sc = 0; sc < out.scopes(); ++sc)
      EXPECT_GE(out.total(Metric::minors_accepted_stranger, sc), out.total(Metric::minors_engaged, sc));
    EXPECT_GT(out.total(Metric::minors_accepted_stranger), out.total(Metric::minors_engaged));
  }
}

TEST(Fidelity, ProtectionsAgainstEveryUnconnectedAccountStopOffendersPosingAsTeens) {
  // Offenders who all pose as teens and suggestions off for minors: with
  // protections against believed adults (and per surface, for suggestions)
  // their suggested contacts go through; against every unconnected account
  // they do not. Against believed adults only, benign peers are not blocked.
  ScenarioSpec base = small();
  for (OffenderTypeSpec* t : {&base.offenders.groomer, &base.offenders.sextortion, &base.offenders.distributor})
    t->claims_teen_prob = 1.0;
  base.platforms[0].controls.network_expansion.mode = NetworkExpansion::off;
  base.platforms[0].controls.dm_policy = {DmPolicy::connected_only, DmPolicy::connected_only, DmPolicy::connected_only};
  ScenarioSpec all = base, adults = base;
  all.platforms[0].controls.contact_protections_against = ProtectionsAgainst::all_unconnected;
  adults.platforms[0].controls.contact_protections_against = ProtectionsAgainst::believed_adults;
  const Paired contacted = paired(base, all, Metric::minors_contacted);
  EXPECT_LT(contacted.mean + contacted.half_width, 0) << contacted.mean << " +- " << contacted.half_width;
  const Paired blocked = paired(base, adults, Metric::legit_contacts_blocked);
  EXPECT_LT(blocked.mean + blocked.half_width, 0) << blocked.mean << " +- " << blocked.half_width;
}

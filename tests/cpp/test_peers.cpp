// Peer perpetrators (offenders.peer, docs/model/submodels/offenders.md): the
// type is off at peer_share 0 and then changes nothing; adult-offender and
// all-perpetrator measures stay apart; peers under 18 are not believed adults,
// so protections against believed adults miss them; the oracle carries the type.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "model_util.hpp"
#include "safesim/oracle.hpp"

using namespace safesim;
using safesim::test::seeds;
using safesim::test::small;

namespace {

/// A small scenario with peer perpetrators aged 13-17 at a share that gives
/// them many contacts, and adult offenders posing as teens never (so every
/// account presenting as a teen is a peer under 18).
ScenarioSpec with_peers(double peer_share = 0.03) {
  ScenarioSpec s = small(6000, 120);
  s.offenders.peer_share = peer_share;
  s.offenders.peer_age_min = 13;
  s.offenders.peer_age_max = 17;
  s.offenders.peer.contacts_per_day = 0.5;
  for (OffenderTypeSpec* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor})
    t->claims_teen_prob = 0.0;
  return s;
}

/// No shared resource between adults and peers: nothing is reviewed (no bans,
/// no law enforcement), no detector acts by itself, no risk assessment.
ScenarioSpec uncoupled(ScenarioSpec s) {
  for (PlatformSpec& p : s.platforms) {
    p.controls.review.capacity_per_day = 0;
    p.controls.risk_assessment.enabled = false;
  }
  return s;
}

const Metric kAdultMetrics[] = {Metric::minors_contacted,  Metric::minors_engaged,     Metric::minors_solicited,
                                Metric::minors_exploited,  Metric::contact_attempts,   Metric::contacts_prevented,
                                Metric::dyads_opened,      Metric::exposure_days,      Metric::exploitation_events,
                                Metric::minors_blocking,   Metric::minors_reporting,   Metric::minor_blocks,
                                Metric::minors_sextorted,  Metric::minors_met_offline, Metric::minors_images_obtained,
                                Metric::minors_recontacted};

/// The kinds of exploitation: adult offenders' count and the all-perpetrator one.
const std::pair<Metric, Metric> kKindPairs[] = {{Metric::minors_images_obtained, Metric::minors_images_obtained_any},
                                                {Metric::minors_sextorted, Metric::minors_sextorted_any},
                                                {Metric::minors_met_offline, Metric::minors_met_offline_any}};

/// Peers whose exploitations come in every kind, many of each.
ScenarioSpec every_kind(ScenarioSpec s) {
  s.offenders.peer.sextortion_share = 0.3;
  s.offenders.peer.meeting_share = 0.4;
  return s;
}

}  // namespace

TEST(Peers, PeerShareZeroIsOffWhateverThePeerTypeSays) {
  // At peer_share 0 the peer type's parameters cannot matter: bit-identical output.
  ScenarioSpec a = small(4000, 90);
  ScenarioSpec b = a;
  b.offenders.peer.contacts_per_day = 7.0;
  b.offenders.peer.accounts = 9.0;
  b.offenders.peer_age_min = 10;
  b.offenders.peer_age_max = 40;
  for (std::uint64_t seed : {3u, 4u}) EXPECT_EQ(output_hash(run(a, seed)), output_hash(run(b, seed))) << seed;
  // And the all-perpetrator counts are then the adult ones, the peer flows 0.
  const RunOutput o = run(a, 3);
  EXPECT_GT(o.total(Metric::minors_contacted), 0);
  EXPECT_EQ(o.total(Metric::minors_contacted_any), o.total(Metric::minors_contacted));
  EXPECT_EQ(o.total(Metric::minors_solicited_any), o.total(Metric::minors_solicited));
  EXPECT_EQ(o.total(Metric::minors_exploited_any), o.total(Metric::minors_exploited));
  // The kinds of exploitation too, in every scope.
  for (std::size_t sc = 0; sc < o.scopes(); ++sc)
    for (const auto& [adult, any] : kKindPairs)
      EXPECT_EQ(o.total(any, sc), o.total(adult, sc)) << kMetrics[idx(any)].name << " scope " << sc;
  EXPECT_EQ(o.total(Metric::peer_contact_attempts), 0);
  EXPECT_EQ(o.total(Metric::peer_dyads_opened), 0);
}

TEST(Peers, AddingPeersLeavesAdultOffendersDrawsAlone) {
  // With no resource shared between them, adult-offender measures are
  // bit-identical with and without peers: peers have their own keys and draws.
  const ScenarioSpec off = uncoupled(with_peers(0.0));
  const ScenarioSpec on = uncoupled(with_peers());
  for (std::uint64_t seed : {11u, 12u}) {
    const RunOutput a = run(off, seed), b = run(on, seed);
    ASSERT_GT(b.total(Metric::peer_contact_attempts), 100) << "peers must be active for this test to mean anything";
    for (Metric m : kAdultMetrics)
      EXPECT_EQ(a.total(m), b.total(m)) << kMetrics[idx(m)].name << " moved when peers were added (seed " << seed
                                        << ")";
  }
}

TEST(Peers, AllPerpetratorCountsLieBetweenTheirParts) {
  // Adults only (A), peers only (P), both (B), on common seeds without shared
  // resources: B's all-perpetrator distinct counts are the union of A's and
  // P's minors, so max(A, P) <= B_any <= A + P, and B's adult counts are A's.
  // 20,000 users, so that each kind of exploitation has minors from both sides.
  ScenarioSpec base = every_kind(with_peers());
  base.population.users = 20000;
  ScenarioSpec adults = uncoupled(base);
  adults.offenders.peer_share = 0.0;
  ScenarioSpec peers = uncoupled(base);
  peers.offenders.share_of_adults = 0.0;
  const ScenarioSpec both = uncoupled(base);
  const std::pair<Metric, Metric> pairs[] = {{Metric::minors_contacted, Metric::minors_contacted_any},
                                             {Metric::minors_solicited, Metric::minors_solicited_any},
                                             {Metric::minors_exploited, Metric::minors_exploited_any},
                                             kKindPairs[0],
                                             kKindPairs[1],
                                             kKindPairs[2]};
  std::map<Metric, int> strict;  // cases where B_any exceeds both parts (peers add minors adults did not reach)
  // Four seeds: the strict cases below (met offline by a peer alone) are rare events.
  for (std::uint64_t seed : {21u, 22u, 23u, 24u}) {
    const RunOutput a = run(adults, seed), p = run(peers, seed), b = run(both, seed);
    EXPECT_EQ(p.total(Metric::minors_contacted), 0) << "no adult offenders: no adult-offender contact";
    for (const auto& [adult, any] : pairs) {
      EXPECT_EQ(p.total(adult), 0) << kMetrics[idx(adult)].name << ": no adult offenders";
      const double A = a.total(adult), P = p.total(any), B = b.total(any);
      EXPECT_EQ(b.total(adult), A) << kMetrics[idx(adult)].name;
      EXPECT_EQ(a.total(any), A) << kMetrics[idx(any)].name << " without peers";
      EXPECT_GE(B, std::max(A, P)) << kMetrics[idx(any)].name << " seed " << seed;
      EXPECT_LE(B, A + P) << kMetrics[idx(any)].name << " seed " << seed;
      if (B > std::max(A, P)) ++strict[any];
      // Per platform too, and in every age-gender group the totals are split into.
      EXPECT_GE(b.total(any, 1), b.total(adult, 1));
    }
  }
  for (const auto& [adult, any] : pairs)
    EXPECT_GE(strict[any], 2) << kMetrics[idx(any)].name << ": peers should reach minors adults did not";
}

TEST(Peers, ExploitedByAnyoneIsTheUnionOfTheKindsByAnyone) {
  // Each minor exploited by anyone was exploited in at least one kind, and
  // each kind implies the exploitation: max of the kinds <= the union <= their
  // sum, in every scope (ecosystem, each platform) and every age-gender group.
  // Two overlapping platforms, so the ecosystem's distinct counts are not a platform's.
  ScenarioSpec s = every_kind(with_peers(0.08));
  s.population.users = 20000;
  s.platforms[0].user_share = 0.7;
  PlatformSpec second = s.platforms[0];
  second.name = "second";
  s.platforms.push_back(second);
  for (std::uint64_t seed : {41u, 42u}) {
    const RunOutput o = run(s, seed);
    ASSERT_EQ(o.scopes(), 3u);
    for (std::size_t sc = 0; sc < o.scopes(); ++sc) {
      const double all = o.total(Metric::minors_exploited_any, sc);
      const double images = o.total(Metric::minors_images_obtained_any, sc);
      const double demand = o.total(Metric::minors_sextorted_any, sc);
      const double meeting = o.total(Metric::minors_met_offline_any, sc);
      std::printf("  scope %zu: exploited_any %g, images %g, sextorted %g, met offline %g\n", sc, all, images, demand,
                  meeting);
      EXPECT_LE(all, images + demand + meeting) << "a minor exploited in no kind, scope " << sc;
      EXPECT_GE(all, std::max({images, demand, meeting})) << "a kind counted without the exploitation, scope " << sc;
      EXPECT_GT(images, 0) << sc;
      EXPECT_GT(demand, 0) << sc;
      EXPECT_GT(meeting, 0) << sc;
      // The all-perpetrator kinds hold the adult offenders' kinds.
      for (const auto& [adult, any] : kKindPairs) EXPECT_GE(o.total(any, sc), o.total(adult, sc)) << sc;
    }
    // A minor on both platforms counts once in the ecosystem: max(platforms) <= ecosystem <= their sum.
    for (const auto& [adult, any] : kKindPairs) {
      const double eco = o.total(any, 0), p1 = o.total(any, 1), p2 = o.total(any, 2);
      EXPECT_GE(eco, std::max(p1, p2)) << kMetrics[idx(any)].name;
      EXPECT_LE(eco, p1 + p2) << kMetrics[idx(any)].name;
    }
  }
}

TEST(Peers, GroupsOfTheNewMetricsAddUpToTheirTotals) {
  const RunOutput o = run(every_kind(with_peers()), 31);
  for (Metric m : {Metric::minors_contacted_any, Metric::minors_solicited_any, Metric::minors_exploited_any,
                   Metric::minors_images_obtained_any, Metric::minors_sextorted_any, Metric::minors_met_offline_any,
                   Metric::peer_contact_attempts, Metric::peer_dyads_opened, Metric::peer_exposure_days}) {
    const std::size_t slot = group_slot(m);
    ASSERT_LT(slot, kGroupMetricCount) << kMetrics[idx(m)].name << " must be counted by age and gender";
    double sum = 0;
    for (std::size_t g = 0; g < kGroupCount; ++g) sum += o.group_totals[g * kGroupMetricCount + slot];
    EXPECT_NEAR(sum, o.total(m), 1e-6 * std::max(1.0, o.total(m))) << kMetrics[idx(m)].name;
    EXPECT_GT(o.total(m), 0) << kMetrics[idx(m)].name;
  }
}

TEST(Peers, ConversationsEndedAreAmongThoseOpenedByAnyone) {
  // The end counts (dyads_*) take every perpetrator's conversations; those
  // opened are dyads_opened (adults) plus peer_dyads_opened. From a cold start
  // no more can end than opened, and with many peers more end than adults opened.
  ScenarioSpec s = with_peers(0.08);
  s.offenders.share_of_adults = 0.002;
  int more_than_adults = 0;
  for (const RunOutput& o : run_many(s, seeds(3), 2)) {
    const double opened = o.total(Metric::dyads_opened) + o.total(Metric::peer_dyads_opened);
    // Each conversation ends at most once by a report, an exit, detection or a ban.
    const double closed = o.total(Metric::dyads_reported) + o.total(Metric::dyads_exited) +
                          o.total(Metric::dyads_detected) + o.total(Metric::dyads_ended_by_ban);
    EXPECT_LE(closed, opened);
    if (closed > o.total(Metric::dyads_opened)) ++more_than_adults;
  }
  EXPECT_EQ(more_than_adults, 3) << "peers' conversations must be among the ends counted";
}

TEST(Peers, UnderAgePeersPassProtectionsAgainstBelievedAdultsOnly) {
  // Messages to minors disabled from unconnected senders the protections
  // cover. Against believed adults only, peers under 18 (believed minors)
  // still reach minors; against all unconnected accounts they do not. Adult
  // offenders (none posing as a teen here) are stopped either way.
  ScenarioSpec a = with_peers();
  a.population.declared_adult_share = 0;  // every minor believed a minor: protections cover them all
  for (PlatformSpec& p : a.platforms) {
    p.controls.dm_policy = {DmPolicy::disabled, DmPolicy::disabled, DmPolicy::disabled};
    // Group-chat adds (on at the defaults) are not DMs: consent stops them from the same senders.
    p.controls.group_add_consent = true;
    p.controls.contact_protections_against = ProtectionsAgainst::believed_adults;
  }
  ScenarioSpec b = a;
  for (PlatformSpec& p : b.platforms) p.controls.contact_protections_against = ProtectionsAgainst::all_unconnected;
  const auto pd = test::paired(a, b, Metric::peer_dyads_opened, 6);
  std::printf("  peer dyads opened, all_unconnected - believed_adults: %.1f +- %.1f\n", pd.mean, pd.half_width);
  EXPECT_LT(pd.mean + pd.half_width, 0) << "all_unconnected must stop peers that believed_adults lets through";
  const auto sd = seeds(3);
  for (const RunOutput& o : run_many(a, sd, 2)) {
    EXPECT_GT(o.total(Metric::peer_dyads_opened), 0) << "believed_adults: peers under 18 reach minors";
    EXPECT_EQ(o.total(Metric::dyads_opened), 0) << "adult offenders are stopped by protections against adults";
  }
  for (const RunOutput& o : run_many(b, sd, 2)) {
    EXPECT_EQ(o.total(Metric::peer_dyads_opened), 0) << "all_unconnected: messages disabled for every stranger";
    // Every peer attempt is stopped at the DM step (messages disabled), none goes unseen.
    EXPECT_GT(o.total(Metric::peer_contacts_prevented), 0);
    EXPECT_EQ(o.total(Metric::peer_contacts_prevented), o.total(Metric::peer_contact_attempts));
  }
}

TEST(Peers, SameResultsAtAnyThreadCount) {
  const ScenarioSpec s = with_peers();
  const auto sd = seeds(3);
  const auto one = run_many(s, sd, 1), two = run_many(s, sd, 2);
  for (std::size_t i = 0; i < sd.size(); ++i) EXPECT_EQ(output_hash(one[i]), output_hash(two[i]));
}

TEST(Peers, OracleAgreesWithSimulationForThePeerType) {
  // The oracle's analytic configuration (tests/cpp/test_oracle.cpp) with peers
  // as the only perpetrators: no bans, no repeats, fast dynamics, every
  // contacted minor who does not reply blocks. Peers under 18 present as
  // teens (teen_disguise_factor), the adults among them do not.
  ScenarioSpec s = default_scenario();
  s.population.users = 8000;
  s.horizon_days = 100;
  s.warmup_days = 0;
  s.graph.mean_degree = 10;
  s.graph.groups_per_user = 1;
  s.offenders.share_of_adults = 0.0;
  s.offenders.peer_share = 0.08;
  s.offenders.peer_age_min = 14;
  s.offenders.peer_age_max = 21;
  OffenderTypeSpec& g = s.offenders.peer;
  g.contacts_per_day = 2.0;
  g.max_open_dyads = 50;
  g.target_selectivity = 0.0;
  g.repeat_prob = 0.0;
  g.dwell_hours = {2, 3, 2, 2};
  g.exit_per_day = {8, 6, 8, 10};
  g.report_per_day = {6, 6, 8, 10};
  PlatformSpec& p = s.platforms[0];
  p.controls.review.capacity_per_day = 0;
  p.controls.parental_supervision.uptake = 0;
  p.controls.parental_supervision.locks_settings = false;
  p.controls.dm_policy = {DmPolicy::open, DmPolicy::open, DmPolicy::open};
  s.response.block_prob = 1.0;
  const double teen = teen_presenting_share(s, 3);
  EXPECT_GT(teen, 0.3);
  EXPECT_LT(teen, 0.9);
  const DyadOutcome o = dyad_outcome_mixed(s, 0, 3);
  const auto outs = run_many(s, seeds(4), 2);
  double opened = 0, exploited = 0, reported = 0, exited = 0, exposure = 0, censored = 0;
  for (const RunOutput& r : outs) {
    opened += r.total(Metric::peer_dyads_opened, 1);
    exploited += r.total(Metric::dyads_exploited, 1);
    reported += r.total(Metric::dyads_reported, 1);
    exited += r.total(Metric::dyads_exited, 1);
    exposure += r.total(Metric::peer_exposure_days, 1);
    EXPECT_EQ(r.total(Metric::dyads_opened, 1), 0) << "no adult offenders";
    EXPECT_EQ(r.total(Metric::dyads_ended_by_ban, 1), 0) << "no bans";
  }
  censored = opened - exploited - reported - exited;
  ASSERT_GT(opened, 3000) << "too few dyads for the comparison";
  EXPECT_LT(censored / opened, 0.005);
  // 99% intervals (binomial over the pooled dyads, plus the censored share as a bound on the shift).
  const auto check = [&](const char* what, double oracle, double k) {
    const double ph = k / opened;
    const double tol = 2.5758 * std::sqrt(ph * (1 - ph) / opened) + censored / opened;
    std::printf("  %-10s oracle %.4f  simulation %.4f +- %.4f (99%%)\n", what, oracle, ph, tol);
    EXPECT_NEAR(ph, oracle, tol) << what;
  };
  check("exploited", o.exploited, exploited);
  check("reported", o.reported, reported);
  check("exited", o.exited, exited);
  const double days = exposure / opened;
  const double sd = std::sqrt(o.days_second_moment - o.expected_days * o.expected_days);
  const double tol = 2.5758 * sd / std::sqrt(opened) + censored / opened * o.expected_days;
  std::printf("  %-10s oracle %.5f  simulation %.5f +- %.5f (99%%)\n", "days", o.expected_days, days, tol);
  EXPECT_NEAR(days, o.expected_days, tol);
  // The teen-presenting share moves the oracle: a peer type that never presents as a teen replies less.
  ScenarioSpec adults_only_ages = s;
  adults_only_ages.offenders.peer_age_min = 18;
  EXPECT_EQ(teen_presenting_share(adults_only_ages, 3), 0.0);
}

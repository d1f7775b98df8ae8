// Analytic oracle of the dyad process (docs/model/submodels/oracle.md): unit checks of the
// solver, agreement of the simulation with it in the analytic configuration
// (one offender type, no bans, no repeats, fast dynamics), and both moving
// the same way when a control changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "safesim/oracle.hpp"
#include "safesim/simulation.hpp"

using namespace safesim;

namespace {

constexpr double kZ99 = 2.5758;  // two-sided 99% normal quantile

OffenderTypeSpec plain_type() {
  OffenderTypeSpec t;
  t.dwell_hours = {10, 20, 10, 5};
  t.exit_per_day = {1.0, 0.5, 0.5, 1.0};
  t.report_per_day = {0.5, 0.2, 0.4, 1.0};
  t.move_request_prob = 0.5;
  t.move_accept_prob = 0.5;
  t.repeat_prob = 0.0;
  return t;
}

double sum3(const DyadOutcome& o) { return o.exploited + o.reported + o.exited; }

// ---------------------------------------------------------------- analytic configuration
/// One offender type (groomers), no bans (review capacity 0), no repeats, fast
/// dynamics (a dyad lasts hours, the horizon is months: censoring is small and
/// corrected for). Every contacted minor who does not reply blocks the account
/// (block_prob 1), so each account-minor pair has one effective attempt and the
/// dyads' vulnerability is size-biased exactly as dyad_outcome_mixed assumes.
/// With the default block_prob the same pair can be retried; the chance that a
/// pair ends in a dyad is then concave in v and the simulated dyads are a
/// little less vulnerable (exposure about 0.5% shorter here).
ScenarioSpec analytic_config() {
  ScenarioSpec s = default_scenario();
  s.population.users = 8000;
  s.horizon_days = 100;
  s.warmup_days = 0;  // dyads open from day 0 (the censoring correction's assumption)
  s.graph.mean_degree = 10;
  s.graph.groups_per_user = 1;
  s.offenders.share_of_adults = 0.02;
  s.offenders.groomer.share = 1.0;
  s.offenders.sextortion.share = 0.0;
  s.offenders.distributor.share = 0.0;
  s.offenders.peer_share = 0.0;  // groomers only (test_peers.cpp compares the peer type with its oracle)
  OffenderTypeSpec& g = s.offenders.groomer;
  g.contacts_per_day = 2.0;
  g.max_open_dyads = 50;
  g.target_selectivity = 0.0;
  g.repeat_prob = 0.0;
  g.dwell_hours = {2, 3, 2, 2};
  g.exit_per_day = {8, 6, 8, 10};
  g.report_per_day = {6, 6, 8, 10};
  g.move_request_prob = 0.67;
  g.move_accept_prob = 0.5;
  PlatformSpec& p = s.platforms[0];
  p.controls.review.capacity_per_day = 0;  // no bans: dyads end only by their own hazards
  p.controls.parental_supervision.uptake = 0;
  p.controls.parental_supervision.locks_settings = false;  // supervision must not change who is contacted
  p.controls.dm_policy = {DmPolicy::open, DmPolicy::open, DmPolicy::open};
  s.response.block_prob = 1.0;
  return s;
}

std::vector<std::uint64_t> seeds(int n, std::uint64_t first) {
  std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

/// Pooled per-dyad estimates from several replicates.
struct Pooled {
  double opened = 0, exploited = 0, reported = 0, exited = 0, detected = 0, banned = 0, exposure = 0,
         censored_share = 0;
  double end_rate = 0;  // dyads opened per day near the horizon, as a share of all dyads opened
  // Across-replicate standard errors of the ratio estimates (for the report).
  double se_rep_exploited = 0, se_rep_reported = 0, se_rep_exited = 0, se_rep_days = 0;
  double p(double k) const { return k / opened; }
};

Pooled pool(const std::vector<RunOutput>& outs) {
  Pooled P;
  std::vector<double> pe, pr, px, pd;
  for (const RunOutput& o : outs) {
    const double n = o.total(Metric::dyads_opened, 1);
    P.opened += n;
    P.exploited += o.total(Metric::dyads_exploited, 1);
    P.reported += o.total(Metric::dyads_reported, 1);
    P.exited += o.total(Metric::dyads_exited, 1);
    P.detected += o.total(Metric::dyads_detected, 1);
    P.banned += o.total(Metric::dyads_ended_by_ban, 1);
    P.exposure += o.total(Metric::exposure_days, 1);
    pe.push_back(o.total(Metric::dyads_exploited, 1) / n);
    pr.push_back(o.total(Metric::dyads_reported, 1) / n);
    px.push_back(o.total(Metric::dyads_exited, 1) / n);
    pd.push_back(o.total(Metric::exposure_days, 1) / n);
  }
  // Opening rate over the last 10 days, relative to all dyads opened.
  for (const RunOutput& o : outs)
    for (std::int64_t d = o.days - 10; d < o.days; ++d) P.end_rate += o.day_value(Metric::dyads_opened, d, 1) / 10.0;
  P.end_rate /= P.opened;
  // Dyads still open at the horizon (no repeats: an exploited dyad closes).
  P.censored_share = (P.opened - P.exploited - P.reported - P.exited - P.detected - P.banned) / P.opened;
  auto se = [](const std::vector<double>& x) {
    const double m = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
    double ss = 0;
    for (double v : x) ss += (v - m) * (v - m);
    return std::sqrt(ss / static_cast<double>(x.size() - 1) / static_cast<double>(x.size()));
  };
  P.se_rep_exploited = se(pe);
  P.se_rep_reported = se(pr);
  P.se_rep_exited = se(px);
  P.se_rep_days = se(pd);
  return P;
}

/// The oracle's probability must lie in the simulation's 99% confidence
/// interval: binomial standard error over the pooled dyads (dyads are
/// independent given the minors' vulnerability), widened to the
/// across-replicate standard error if that is larger.
void expect_in_ci(const char* what, double oracle, double k, double n, double se_rep) {
  const double p = k / n;
  const double se = std::max(std::sqrt(p * (1.0 - p) / n), se_rep);
  EXPECT_NEAR(p, oracle, kZ99 * se) << what << ": simulation " << p << " +- " << kZ99 * se << " (99%, n = " << n
                                    << " dyads), oracle " << oracle;
  std::printf("  %-10s oracle %.4f  simulation %.4f +- %.4f (99%%; binomial se %.4f, replicate se %.4f)\n", what,
              oracle, p, kZ99 * se, std::sqrt(p * (1.0 - p) / n), se_rep);
}

/// Right-censoring: dyads opened shortly before the horizon have not ended by
/// it. With openings at rate r (share of all dyads per day) near the horizon,
/// the share of dyads whose outcome k falls after it is r E[T 1{k}], and the
/// exposure lost is r E[T^2] / 2 per dyad (oracle.hpp). The corrections are
/// small (about 0.1% here) but systematic, so the oracle is corrected for them.
void expect_agreement(const DyadOutcome& o, const Pooled& P) {
  const double r = P.end_rate;
  const double predicted_censored = r * o.expected_days;
  std::printf("  %.0f dyads, censored at the horizon %.5f (oracle %.5f), ended by ban %.0f\n", P.opened,
              P.censored_share, predicted_censored, P.banned);
  ASSERT_GT(P.opened, 3000) << "too few dyads for the comparison";
  EXPECT_EQ(P.banned, 0) << "review capacity 0 must mean no bans";
  EXPECT_LT(P.censored_share, 0.005) << "right-censoring at the horizon must be small";
  EXPECT_NEAR(P.censored_share, predicted_censored, kZ99 * std::sqrt(predicted_censored / P.opened) + 1e-4);
  expect_in_ci("exploited", o.exploited - r * o.exploited_days, P.exploited, P.opened, P.se_rep_exploited);
  expect_in_ci("reported", o.reported - r * o.reported_days, P.reported, P.opened, P.se_rep_reported);
  expect_in_ci("exited", o.exited - r * o.exited_days, P.exited, P.opened, P.se_rep_exited);
  if (o.detected > 0) expect_in_ci("detected", o.detected - r * o.detected_days, P.detected, P.opened, 0.0);
  // Exposure per dyad: without repeats exposure ends at absorption. The
  // oracle's second moment gives the per-dyad standard deviation.
  const double days = P.exposure / P.opened;
  const double oracle_days = o.expected_days - r * o.days_second_moment / 2.0;
  const double sd = std::sqrt(o.days_second_moment - o.expected_days * o.expected_days);
  const double se = std::max(sd / std::sqrt(P.opened), P.se_rep_days);
  EXPECT_NEAR(days, oracle_days, kZ99 * se) << "exposure days per dyad";
  std::printf("  %-10s oracle %.5f  simulation %.5f +- %.5f (99%%)\n", "days", oracle_days, days, kZ99 * se);
}

}  // namespace

// ---------------------------------------------------------------- 1. the solver
TEST(Oracle, ProbabilitiesSumToOne) {
  const PlatformSpec p;
  const ResponseSpec r;
  for (double v : {0.0, 0.1, 0.5, 0.9, 1.0})
    for (bool sup : {false, true}) {
      const DyadOutcome o = dyad_outcome(plain_type(), p, r, {.vulnerability = v, .supervised = sup});
      EXPECT_NEAR(sum3(o), 1.0, 1e-12);
      EXPECT_NEAR(o.reported + o.exited + o.closed_after_exploitation, 1.0, 1e-12);
      EXPECT_NEAR(o.exploited, o.closed_after_exploitation, 1e-12) << "no repeats: every exploitation closes";
      EXPECT_NEAR(o.exploited, o.exploitation_events, 1e-12);
      EXPECT_GE(o.reach_trust, o.reach_isolation);
      EXPECT_GE(o.reach_isolation, o.reach_solicitation);
      EXPECT_GE(o.reach_solicitation, o.exploited);
      EXPECT_GT(o.expected_days, 0);
      EXPECT_NEAR(o.exploited_days + o.reported_days + o.exited_days, o.expected_days, 1e-12);
    }
  // Default offender types, with repeats (sextortion): outcomes still partition.
  const ScenarioSpec s = default_scenario();
  for (int type = 0; type < 3; ++type) {
    const DyadOutcome o = dyad_outcome(offender_type(s, type), s.platforms[0], s.response, {.vulnerability = 0.2});
    EXPECT_NEAR(o.reported + o.exited + o.closed_after_exploitation, 1.0, 1e-12);
    EXPECT_NEAR(o.exploited + o.reported_before_exploitation + o.exited_before_exploitation, 1.0, 1e-12);
    EXPECT_GE(o.exploitation_events, o.exploited);
  }
}

TEST(Oracle, LimitingCases) {
  const PlatformSpec p;
  const ResponseSpec r;
  OffenderTypeSpec t = plain_type();
  // No exit and no report hazard: every dyad ends exploited, after the sum of the dwells.
  t.exit_per_day = {0, 0, 0, 0};
  t.report_per_day = {0, 0, 0, 0};
  DyadOutcome o = dyad_outcome(t, p, r, {.vulnerability = 0.3});
  EXPECT_NEAR(o.exploited, 1.0, 1e-12);
  EXPECT_NEAR(o.expected_days, (10 + 20 + 10 + 5) / 24.0, 1e-12);
  // Exponential stages: variance = sum of squared dwells.
  EXPECT_NEAR(o.days_second_moment - o.expected_days * o.expected_days,
              (10.0 * 10 + 20 * 20 + 10 * 10 + 5 * 5) / (24.0 * 24.0), 1e-12);
  // Vulnerability 1 switches exits off.
  t = plain_type();
  t.report_per_day = {0, 0, 0, 0};
  EXPECT_NEAR(dyad_outcome(t, p, r, {.vulnerability = 1.0}).exploited, 1.0, 1e-12);
  // A huge report hazard ends nearly every dyad by a report in stage engaged.
  t = plain_type();
  t.report_per_day = {1e6, 1e6, 1e6, 1e6};
  o = dyad_outcome(t, p, r, {.vulnerability = 0.3});
  EXPECT_GT(o.reported, 0.999);
  EXPECT_LT(o.reach_trust, 1e-3);
  // Move probability 1: reports can only happen before isolation.
  t = plain_type();
  t.move_request_prob = 1.0;
  t.move_accept_prob = 1.0;
  t.exit_per_day = {0, 0, 0, 0};
  o = dyad_outcome(t, p, r, {.vulnerability = 0.3});
  EXPECT_NEAR(o.moved, o.reach_isolation, 1e-12);
  EXPECT_NEAR(o.exploited, o.reach_isolation, 1e-12) << "no exit and no report after the move";
  EXPECT_NEAR(o.reported, 1.0 - o.reach_isolation, 1e-12);
  const double completion = std::pow(0.85, 5);  // default steps 5, in-product
  const double q0 = 0.5 / 24 * completion, q1 = 0.2 / 24 * completion;
  EXPECT_NEAR(o.reach_isolation, (0.1 / (0.1 + q0)) * (0.05 / (0.05 + q1)), 1e-12);
}

TEST(Oracle, TwoStageCaseByHand) {
  // Exit and report only in engaged and trust; isolation and solicitation just
  // progress. Hazards per hour: engaged progress 1/4, exit 0.6 (1 - v), report
  // 0.3 c; trust progress 1/8, exit 0.3 (1 - v), report 0 (report_per_day 0).
  const PlatformSpec p;
  ResponseSpec r;
  r.step_completion = 0.5;  // completion 0.5^5 = 1/32
  OffenderTypeSpec t;
  t.dwell_hours = {4, 8, 3, 2};
  t.exit_per_day = {0.6 * 24, 0.3 * 24, 0, 0};
  t.report_per_day = {0.3 * 24 * 32, 0, 0, 0};  // report hazard 0.3 per hour after friction
  t.move_request_prob = 0.4;
  t.move_accept_prob = 0.5;
  const double v = 0.5;
  const DyadOutcome o = dyad_outcome(t, p, r, {.vulnerability = v});
  const double tot0 = 0.25 + 0.3 + 0.3, tot1 = 0.125 + 0.15;
  const double reach1 = 0.25 / tot0;
  EXPECT_NEAR(o.reach_trust, reach1, 1e-12);
  EXPECT_NEAR(o.reported, 0.3 / tot0, 1e-12);
  EXPECT_NEAR(o.exited, 0.3 / tot0 + reach1 * 0.15 / tot1, 1e-12);
  EXPECT_NEAR(o.exploited, reach1 * 0.125 / tot1, 1e-12);
  EXPECT_NEAR(o.moved, o.exploited * 0.2, 1e-12);
  EXPECT_NEAR(o.expected_days * 24, 1 / tot0 + reach1 / tot1 + o.exploited * (3 + 2), 1e-12);
  // Supervision doubles the report hazard (supervision_report_factor 2).
  const DyadOutcome s = dyad_outcome(t, p, r, {.vulnerability = v, .supervised = true});
  EXPECT_NEAR(s.reported, 0.6 / (tot0 + 0.3), 1e-12);
}

TEST(Oracle, RepeatsAddExploitationEventsAndExposure) {
  const PlatformSpec p;
  const ResponseSpec r;
  OffenderTypeSpec t = plain_type();
  const DyadOutcome once = dyad_outcome(t, p, r, {.vulnerability = 0.2});
  t.repeat_prob = 0.5;
  const DyadOutcome rep = dyad_outcome(t, p, r, {.vulnerability = 0.2});
  EXPECT_NEAR(rep.exploited, once.exploited, 1e-12) << "repeats do not change the first exploitation";
  EXPECT_GT(rep.exploitation_events, rep.exploited);
  EXPECT_GT(rep.expected_days, once.expected_days);
  EXPECT_GT(rep.reported, once.reported) << "a repeated dyad can still be reported";
  // With no exit or report hazard in solicitation, events are geometric: 1 / (1 - 0.5) per exploited dyad.
  t.exit_per_day.solicitation = 0;
  t.report_per_day.solicitation = 0;
  const DyadOutcome g = dyad_outcome(t, p, r, {.vulnerability = 0.2});
  EXPECT_NEAR(g.exploitation_events, 2.0 * g.exploited, 1e-12);
}

TEST(Oracle, GaussJacobiIsExact) {
  Eigen::VectorXd x, w;
  // Chebyshev-like weights: integral of (1-x)^-0.5 (1+x)^0.5 is pi.
  gauss_jacobi(12, -0.5, 0.5, x, w);
  EXPECT_NEAR(w.sum(), std::numbers::pi, 1e-12);
  // Moments of a Jacobi weight equal Beta integrals: with x = 2u - 1,
  // int (1-x)^a (1+x)^b (1+x)^k dx = 2^(a+b+k+1) B(a+1, b+k+1).
  const double a = 1.7, b = 0.3;
  gauss_jacobi(10, a, b, x, w);
  for (int k = 0; k < 19; ++k) {
    double q = 0;
    for (int i = 0; i < x.size(); ++i) q += w(i) * std::pow(1 + x(i), k);
    const double exact = std::exp((a + b + k + 1) * std::log(2.0) + std::lgamma(a + 1) + std::lgamma(b + k + 1) -
                                  std::lgamma(a + b + k + 2));
    EXPECT_NEAR(q / exact, 1.0, 1e-10) << "moment " << k;
  }
}

TEST(Oracle, MixtureMatchesBruteForceIntegral) {
  // dyad_outcome_mixed against Simpson's rule on v = 1 - u^2 (removes the
  // (1-v)^(beta-1) singularity), with the acceptance cap binding for part of v.
  ScenarioSpec s = default_scenario();
  OffenderTypeSpec& g = s.offenders.groomer;
  g.dwell_hours = {2, 3, 2, 2};
  g.exit_per_day = {8, 6, 8, 10};
  g.report_per_day = {6, 6, 8, 10};
  g.claims_teen_prob = 0.3;
  s.response.accept_scale = 2.0;  // cap 0.95 binds above v = 0.475 (0.264 for accounts posing as teens)
  s.platforms[0].controls.parental_supervision.uptake = 0.3;
  struct Shape {
    double a, b;
  };
  for (Shape sh : {Shape{1, 7}, Shape{0.5, 0.5}, Shape{40, 60}, Shape{200, 600}}) {
    s.population.vulnerability = {sh.a, sh.b};
    const DyadOutcome m = dyad_outcome_mixed(s, 0, 0);
    const int n = 1200;  // even
    double mass = 0, expl = 0, rep = 0, days = 0;
    for (int i = 0; i <= n; ++i) {
      const double u = static_cast<double>(i) / n;
      const double v = 1 - u * u;
      if (v <= 0) continue;
      const double acc = 0.7 * std::min(0.95, 2.0 * v) + 0.3 * std::min(0.95, 2.0 * 1.8 * v);
      const double dens = acc * std::pow(v, sh.a - 1) * 2 * std::pow(u, 2 * sh.b - 1);  // (1-v)^(b-1) dv
      if (dens == 0) continue;
      const double simpson = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
      const DyadOutcome o0 = dyad_outcome(g, s.platforms[0], s.response, {.vulnerability = v});
      const DyadOutcome o1 = dyad_outcome(g, s.platforms[0], s.response, {.vulnerability = v, .supervised = true});
      const double w = simpson * dens;
      mass += w;
      expl += w * (0.7 * o0.exploited + 0.3 * o1.exploited);
      rep += w * (0.7 * o0.reported + 0.3 * o1.reported);
      days += w * (0.7 * o0.expected_days + 0.3 * o1.expected_days);
    }
    EXPECT_NEAR(m.exploited, expl / mass, 2e-5) << sh.a << "," << sh.b;
    EXPECT_NEAR(m.reported, rep / mass, 2e-5) << sh.a << "," << sh.b;
    EXPECT_NEAR(m.expected_days, days / mass, 2e-6) << sh.a << "," << sh.b;
    EXPECT_NEAR(sum3(m), 1.0, 1e-12);
  }
}

TEST(Oracle, MixtureDimensionsAreDeclaredOnce) {
  // Every binary flag of DyadContext is mixed over by exactly one declared
  // dimension, under a distinct share name.
  const std::vector<bool DyadContext::*> flags = {&DyadContext::supervised, &DyadContext::readable,
                                                  &DyadContext::harvested, &DyadContext::educated};
  const auto dims = mixture_dimensions();
  ASSERT_EQ(dims.size(), flags.size());
  for (const auto flag : flags)
    EXPECT_EQ(std::count_if(dims.begin(), dims.end(), [&](const MixtureDimension& d) { return d.flag == flag; }), 1);
  for (const MixtureDimension& d : dims) {
    EXPECT_FALSE(d.flag_name.empty());
    EXPECT_FALSE(d.meaning.empty());
    EXPECT_EQ(std::count_if(dims.begin(), dims.end(), [&](const MixtureDimension& e) { return e.share == d.share; }), 1)
        << d.share;
  }
  EXPECT_TRUE(
      std::any_of(dims.begin(), dims.end(), [](const MixtureDimension& d) { return d.share == "public_share"; }));
}

TEST(Oracle, MixtureSharesDefaultToTheScenario) {
  ScenarioSpec s = default_scenario();
  ControlsSpec& c = s.platforms[0].controls;
  c.parental_supervision.uptake = 0.3;
  c.education.uptake = 0.4;
  c.e2ee_share = 0.25;
  c.grooming_detection.enabled = true;
  c.download_restrictions = true;
  s.response.harvest_leverage_factor = 3.0;
  for (int type = 0; type < 3; ++type) {
    const DyadOutcome implicit = dyad_outcome_mixed(s, 0, type);
    // Naming every share at its default changes nothing, bit for bit.
    MixtureShares given;
    for (const MixtureDimension& d : mixture_dimensions()) given[std::string(d.share)] = d.default_share(s, 0);
    const DyadOutcome explicit_ = dyad_outcome_mixed(s, 0, type, given);
    EXPECT_EQ(implicit.exploited, explicit_.exploited) << type;
    EXPECT_EQ(implicit.reported, explicit_.reported) << type;
    EXPECT_EQ(implicit.detected, explicit_.detected) << type;
    EXPECT_EQ(implicit.expected_days, explicit_.expected_days) << type;
    // A share given by the caller acts as the scenario's setting would.
    ScenarioSpec more = s;
    more.platforms[0].controls.parental_supervision.uptake = 0.8;
    more.platforms[0].controls.education.uptake = 0.1;
    more.platforms[0].controls.e2ee_share = 0.5;
    const DyadOutcome set = dyad_outcome_mixed(more, 0, type);
    const DyadOutcome by_share =
        dyad_outcome_mixed(s, 0, type, {{"supervised_share", 0.8}, {"educated_share", 0.1}, {"readable_share", 0.5}});
    EXPECT_EQ(set.exploited, by_share.exploited) << type;
    EXPECT_EQ(set.reported, by_share.reported) << type;
    EXPECT_EQ(set.detected, by_share.detected) << type;
    EXPECT_EQ(set.expected_days, by_share.expected_days) << type;
  }
  // The mixture is linear in a share that does not change who opens dyads.
  const DyadOutcome all = dyad_outcome_mixed(s, 0, 0, {{"readable_share", 1.0}});
  EXPECT_GT(all.detected, 0.0);
  EXPECT_NEAR(dyad_outcome_mixed(s, 0, 0, {{"readable_share", 0.25}}).detected, 0.25 * all.detected, 1e-12);
  EXPECT_EQ(dyad_outcome_mixed(s, 0, 0, {{"readable_share", 0.0}}).detected, 0.0);
  // Unknown names and shares outside [0, 1] are refused.
  EXPECT_THROW(dyad_outcome_mixed(s, 0, 0, {{"public", 0.5}}), std::invalid_argument);
  EXPECT_THROW(dyad_outcome_mixed(s, 0, 0, {{"public_share", 1.5}}), std::invalid_argument);
  EXPECT_THROW(dyad_outcome_mixed(s, 0, 0, {{"supervised_share", -0.1}}), std::invalid_argument);
  EXPECT_THROW(dyad_outcome_mixed(s, 0, 0, {{"educated_share", std::nan("")}}), std::invalid_argument);
}

// ---------------------------------------------------------------- 2. agreement with the simulation
TEST(Oracle, SimulationAgreesNearlyConstantVulnerability) {
  ScenarioSpec s = analytic_config();
  s.population.vulnerability = {200, 600};  // v = 0.25 +- 0.015
  const auto outs = run_many(s, seeds(8, 501), 2);
  const Pooled P = pool(outs);
  // Dyads are size-biased: their v has mean (alpha + 1) / (alpha + beta + 1).
  const double v = 201.0 / 801.0;
  const DyadOutcome point = dyad_outcome(s.offenders.groomer, s.platforms[0], s.response, {.vulnerability = v});
  const DyadOutcome mixed = dyad_outcome_mixed(s, 0, 0);
  EXPECT_NEAR(point.exploited, mixed.exploited, 2e-4) << "nearly constant v: the point value is the mixture";
  expect_agreement(mixed, P);
}

TEST(Oracle, SimulationAgreesWithMixture) {
  // Default Beta(1, 7) vulnerability (size-biased among dyads), a third of the
  // minors supervised, accounts posing as teens, and an acceptance cap that binds.
  ScenarioSpec s = analytic_config();
  s.platforms[0].controls.parental_supervision.uptake = 0.3;
  s.offenders.groomer.claims_teen_prob = 0.3;
  s.response.accept_scale = 2.0;
  const auto outs = run_many(s, seeds(6, 601), 2);
  const Pooled P = pool(outs);
  const DyadOutcome mixed = dyad_outcome_mixed(s, 0, 0);
  // The mixture differs clearly from the outcome at the population mean v,
  // so this test can tell whether size-biasing is right.
  const DyadOutcome at_mean =
      dyad_outcome(s.offenders.groomer, s.platforms[0], s.response, {.vulnerability = 1.0 / 8.0});
  std::printf("  exploited at the population mean v, unsupervised: %.4f\n", at_mean.exploited);
  expect_agreement(mixed, P);
}

TEST(Oracle, SimulationAgreesWithGroomingDetectionUnderPartialEncryption) {
  // Grooming detection is a fourth competing hazard on readable conversations;
  // half of them are end-to-end encrypted, so the oracle mixes readable and not.
  ScenarioSpec s = analytic_config();
  GroomingDetectionSpec& g = s.platforms[0].controls.grooming_detection;
  g.enabled = true;
  g.recall_per_day = {6, 8, 10, 12};
  s.platforms[0].controls.e2ee_share = 0.5;
  const auto outs = run_many(s, seeds(4, 701), 2);
  const Pooled P = pool(outs);
  const DyadOutcome mixed = dyad_outcome_mixed(s, 0, 0);
  EXPECT_GT(mixed.detected, 0.05);
  EXPECT_NEAR(mixed.exploited + mixed.reported + mixed.exited + mixed.detected, 1.0, 1e-9);
  expect_agreement(mixed, P);
  // Encrypting everything hides the conversations: detection falls to zero.
  s.platforms[0].controls.e2ee_share = 1.0;
  EXPECT_EQ(dyad_outcome_mixed(s, 0, 0).detected, 0.0);
  s.platforms[0].controls.client_side_scanning = true;
  EXPECT_NEAR(dyad_outcome_mixed(s, 0, 0).detected, 2 * mixed.detected, 1e-9) << "scanning on the device restores it";
}

TEST(Oracle, SimulationAgreesWithHarvestedImagesUnderDownloadRestrictions) {
  // Sextortion offenders (the only type that saves images), every minor public
  // and believed a minor, so public_share is exactly 1; download restrictions
  // leave the circumvention share of dyads harvested, and the leverage factor
  // is large so that the mixture differs clearly from both of its ends.
  ScenarioSpec s = analytic_config();
  s.offenders.sextortion = s.offenders.groomer;  // the analytic type, run as sextortion
  s.offenders.groomer.share = 0.0;
  s.platforms[0].controls.private_by_default.age_threshold = 0;
  s.response.voluntary_private_share = 0;
  s.population.declared_adult_share = 0;
  s.response.harvest_leverage_factor = 8.0;
  s.response.download_circumvention = 0.5;
  s.platforms[0].controls.download_restrictions = true;
  EXPECT_NEAR(harvested_share(s, 0, 1, 1.0), 0.5, 1e-15);
  EXPECT_EQ(harvested_share(s, 0, 0, 1.0), 0.0) << "groomers do not harvest";
  const DyadOutcome mixed = dyad_outcome_mixed(s, 0, 1);
  const DyadOutcome none = dyad_outcome_mixed(s, 0, 1, {{"public_share", 0.0}});
  ScenarioSpec open = s;
  open.platforms[0].controls.download_restrictions = false;
  const DyadOutcome all = dyad_outcome_mixed(open, 0, 1);
  std::printf("  exploited: nobody harvested %.4f, restricted (half harvested) %.4f, unrestricted %.4f\n",
              none.exploited, mixed.exploited, all.exploited);
  EXPECT_NEAR(mixed.exploited, 0.5 * none.exploited + 0.5 * all.exploited, 1e-12) << "a linear mixture";
  EXPECT_GT(all.exploited - none.exploited, 0.05);
  const Pooled P = pool(run_many(s, seeds(6, 801), 2));
  expect_agreement(mixed, P);
}

TEST(Oracle, SimulationAgreesWithEducationUptake) {
  // Half the minors reached by a campaign with strong effects: they reply at
  // 0.3 times the rate (so fewer than half of the dyads are theirs) and report
  // at 3 times the intent. The oracle mixes over both; the dyads' educated
  // share and the mixture differ clearly from a mixture that ignored either.
  ScenarioSpec s = analytic_config();
  EducationSpec& e = s.platforms[0].controls.education;
  e.uptake = 0.5;
  e.accept_factor = 0.3;
  e.report_factor = 3.0;
  const DyadOutcome mixed = dyad_outcome_mixed(s, 0, 0);
  ScenarioSpec none = s;
  none.platforms[0].controls.education.uptake = 0.0;
  const DyadOutcome base = dyad_outcome_mixed(none, 0, 0);
  ScenarioSpec all = s;
  all.platforms[0].controls.education.uptake = 1.0;
  const DyadOutcome educated = dyad_outcome_mixed(all, 0, 0);
  std::printf("  reported: nobody educated %.4f, half %.4f, everyone %.4f\n", base.reported, mixed.reported,
              educated.reported);
  EXPECT_GT(educated.reported - base.reported, 0.1);
  // Educated minors are under-represented among dyads (accept factor 0.3), so
  // the mixture sits below the midpoint of its two ends.
  EXPECT_LT(mixed.reported, 0.5 * (base.reported + educated.reported) - 0.02);
  EXPECT_GT(mixed.reported, base.reported);
  const Pooled P = pool(run_many(s, seeds(8, 901), 2));
  expect_agreement(mixed, P);
}

// ---------------------------------------------------------------- 3. moving together
TEST(Oracle, MoreReportingStepsMoveOracleAndSimulationTogether) {
  ScenarioSpec a = analytic_config();
  a.population.vulnerability = {200, 600};
  ScenarioSpec b = a;
  b.platforms[0].controls.reporting.steps = 15;  // completion 0.44 -> 0.087
  const auto sd = seeds(2, 701);
  const Pooled Pa = pool(run_many(a, sd, 2));
  const Pooled Pb = pool(run_many(b, sd, 2));
  const DyadOutcome oa = dyad_outcome_mixed(a, 0, 0), ob = dyad_outcome_mixed(b, 0, 0);
  EXPECT_LT(ob.reported, oa.reported);
  EXPECT_GT(ob.exploited, oa.exploited);
  const double d_rep = Pb.p(Pb.reported) - Pa.p(Pa.reported);
  const double d_exp = Pb.p(Pb.exploited) - Pa.p(Pa.exploited);
  // Independent binomial errors (different dyads) for the difference.
  auto se_diff = [&](double ka, double kb) {
    const double pa = ka / Pa.opened, pb = kb / Pb.opened;
    return std::sqrt(pa * (1 - pa) / Pa.opened + pb * (1 - pb) / Pb.opened);
  };
  const double se_rep = se_diff(Pa.reported, Pb.reported), se_exp = se_diff(Pa.exploited, Pb.exploited);
  EXPECT_LT(d_rep, -kZ99 * se_rep) << "more steps must lower reports in the simulation";
  EXPECT_GT(d_exp, kZ99 * se_exp) << "more steps must raise exploitation in the simulation";
  EXPECT_NEAR(d_rep, ob.reported - oa.reported, kZ99 * se_rep);
  EXPECT_NEAR(d_exp, ob.exploited - oa.exploited, kZ99 * se_exp);
  std::printf("  reported: oracle %+.4f, simulation %+.4f +- %.4f; exploited: oracle %+.4f, simulation %+.4f +- %.4f\n",
              ob.reported - oa.reported, d_rep, kZ99 * se_rep, ob.exploited - oa.exploited, d_exp, kZ99 * se_exp);
}

// ---------------------------------------------------------------- 4. one clock a hazard
/// Dyad totals of one run: opened, exploited, reported, exited, detected, exposure days.
std::array<double, 6> dyad_totals(const RunOutput& o) {
  return {o.total(Metric::dyads_opened, 1), o.total(Metric::dyads_exploited, 1), o.total(Metric::dyads_reported, 1),
          o.total(Metric::dyads_exited, 1), o.total(Metric::dyads_detected, 1),  o.total(Metric::exposure_days, 1)};
}

TEST(Oracle, AHazardSwitchedOnOnlyEndsDyadsSooner) {
  // Each hazard has its own clock (grooming.cpp), so switching grooming
  // detection on adds a clock and moves no other. With no bans the same dyads
  // open in both runs, and each either runs exactly as before or is detected
  // before its old end. Per run, then, every other outcome can only fall and
  // exposure only shorten; a single exponential at the total rate, split by
  // one uniform, would move every event time and relabel events near the
  // split points, so counts could rise and an unused hazard would still move
  // the exposure.
  ScenarioSpec a = analytic_config();
  a.population.users = 4000;
  a.horizon_days = 60;
  ScenarioSpec b = a, tiny = a;
  for (ScenarioSpec* s : {&b, &tiny}) {
    GroomingDetectionSpec& g = s->platforms[0].controls.grooming_detection;
    g.enabled = true;
    g.fp_per_million = 0;  // no flagged benign conversations: nothing else changes
  }
  b.platforms[0].controls.grooming_detection.recall_per_day = {1, 1, 1, 1};
  tiny.platforms[0].controls.grooming_detection.recall_per_day = {1e-12, 1e-12, 1e-12, 1e-12};
  const auto sd = seeds(3, 801);
  const auto out_a = run_many(a, sd, 2), out_b = run_many(b, sd, 2), out_tiny = run_many(tiny, sd, 2);
  double detected = 0;
  for (std::size_t r = 0; r < sd.size(); ++r) {
    const auto ta = dyad_totals(out_a[r]), tb = dyad_totals(out_b[r]);
    EXPECT_EQ(tb[0], ta[0]) << "seed " << sd[r] << ": the same dyads open";
    for (int k = 1; k <= 3; ++k) EXPECT_LE(tb[k], ta[k]) << "seed " << sd[r] << ": outcome " << k << " rose";
    EXPECT_EQ(ta[4], 0);
    // Every dyad detected in b ended otherwise in a, or was still open at the horizon.
    EXPECT_GE(tb[4], (ta[1] - tb[1]) + (ta[2] - tb[2]) + (ta[3] - tb[3])) << "seed " << sd[r];
    EXPECT_LT(tb[5], ta[5]) << "seed " << sd[r] << ": detection must shorten exposure";
    detected += tb[4];
    // A hazard too small ever to run out first changes nothing, to the bit.
    EXPECT_EQ(dyad_totals(out_tiny[r]), ta) << "seed " << sd[r] << ": an unused hazard moved the dyads";
  }
  EXPECT_GT(detected, 50) << "the test needs detections to mean anything";
}

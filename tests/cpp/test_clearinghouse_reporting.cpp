// Reporting to the clearinghouse (docs/model/submodels/clearinghouse.md):
// who reports (an operator registered or not, overriding its services'
// controls), bundling of one item's copies into one report, completeness
// per operator, and 18 U.S.C. 2258A's actual knowledge (a provider that does
// not scan still reports what it confirms from users' reports).
//
// Law enforcement never acts in these scenarios (le_action_prob 0), so what
// reporting changes cannot feed back into the platforms: paired runs on the
// same seeds differ only in what reaches the clearinghouse, and the tests can
// ask for exact equalities.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model_util.hpp"
#include "safesim/scenario.hpp"

using namespace safesim;

namespace {

/// Two services a and b; distributors re-share items (one item, many copies);
/// hash matching and review confirm copies on both. Reports arrive the day
/// they are sent, so sent and arrived counts agree at the horizon.
ScenarioSpec two_services() {
  ScenarioSpec s = test::small(6000, 120);
  s.clearinghouse.le_action_prob = 0;
  s.content.reshare_share = 0.9;
  s.platforms[0].name = "a";
  s.platforms[0].user_share = 0.8;
  auto& c = s.platforms[0].controls;
  c.hash_matching.enabled = true;
  c.hash_matching.private_surfaces = true;
  c.clearinghouse_reporting.delay_days = 0;
  s.platforms.push_back(s.platforms[0]);
  s.platforms[1].name = "b";
  return s;
}

OperatorSpec operator_of(std::size_t platform, OperatorReporting reporting, double completeness = 0.49) {
  OperatorSpec o;
  o.name = "co";
  o.platforms = {platform};
  o.reporting = reporting;
  o.completeness = completeness;
  o.delay_days = 0;
  return o;
}

struct Totals {
  std::vector<RunOutput> runs;
  double operator_sum(Metric m, std::size_t op) const {
    double x = 0;
    for (const auto& r : runs) x += r.operator_totals[op * kMetricCount + idx(m)];
    return x;
  }
  double sum(Metric m, std::size_t scope) const {
    double x = 0;
    for (const auto& r : runs) x += r.total(m, scope);
    return x;
  }
};

Totals run_on_seeds(const ScenarioSpec& s) { return {run_many(s, test::seeds(4), 2)}; }

}  // namespace

TEST(ClearinghouseReporting, BundlingLowersReportsButNotFiles) {
  const ScenarioSpec single = two_services();
  ScenarioSpec bundled = single;
  bundled.clearinghouse.bundle_window_days = 30;
  const Totals a = run_on_seeds(single), b = run_on_seeds(bundled);
  for (std::size_t scope : {0u, 1u, 2u}) {
    const double files = a.sum(Metric::clearinghouse_files, scope);
    std::printf("  scope %zu: reports %.0f -> %.0f, files %.0f -> %.0f\n", scope,
                a.sum(Metric::clearinghouse_reports, scope), b.sum(Metric::clearinghouse_reports, scope), files,
                b.sum(Metric::clearinghouse_files, scope));
    ASSERT_GT(files, 50) << "too few copies reported for the test to mean anything";
    // Conservation: every confirmed copy reaches the clearinghouse as a file either way.
    EXPECT_EQ(b.sum(Metric::clearinghouse_files, scope), files);
    // Fewer reports: the folded copies are files of an earlier report.
    EXPECT_LT(b.sum(Metric::clearinghouse_reports, scope), a.sum(Metric::clearinghouse_reports, scope) - 10);
    // Without bundling each copy is one report: files at most reports (accounts' reports carry none).
    EXPECT_LE(files, a.sum(Metric::clearinghouse_reports, scope));
  }
  // Nothing on the platforms moved (law enforcement is inert here).
  EXPECT_EQ(a.sum(Metric::material_copies, 0), b.sum(Metric::material_copies, 0));
  EXPECT_EQ(a.sum(Metric::offenders_banned, 0), b.sum(Metric::offenders_banned, 0));
}

TEST(ClearinghouseReporting, AnUnregisteredOperatorSendsNothingAndItsFindingsCountAsUnreported) {
  ScenarioSpec registered = two_services();
  registered.operators.push_back(operator_of(0, OperatorReporting::registered));
  ScenarioSpec unregistered = registered;
  unregistered.operators[0].reporting = OperatorReporting::unregistered;
  const Totals r = run_on_seeds(registered), u = run_on_seeds(unregistered);
  const double sent = r.operator_sum(Metric::clearinghouse_reports, 0);
  ASSERT_GT(sent, 50);
  EXPECT_EQ(u.operator_sum(Metric::clearinghouse_reports, 0), 0);
  EXPECT_EQ(u.operator_sum(Metric::clearinghouse_files, 0), 0);
  EXPECT_EQ(u.operator_sum(Metric::clearinghouse_unreported, 0), sent);  // each finding, sent or not
  EXPECT_EQ(r.operator_sum(Metric::clearinghouse_unreported, 0), 0);
  // The other service reports as before.
  EXPECT_EQ(u.sum(Metric::clearinghouse_reports, 2), r.sum(Metric::clearinghouse_reports, 2));
  EXPECT_EQ(u.sum(Metric::clearinghouse_unreported, 2), 0);
}

TEST(ClearinghouseReporting, RegisteredOverridesTheServicesOwnControls) {
  // Service a's own controls say it does not report; its operator is registered.
  ScenarioSpec off = two_services();
  off.platforms[0].controls.clearinghouse_reporting.enabled = false;
  ScenarioSpec registered = off;
  registered.operators.push_back(operator_of(0, OperatorReporting::registered));
  const Totals o = run_on_seeds(off), r = run_on_seeds(registered);
  EXPECT_EQ(o.sum(Metric::clearinghouse_reports, 1), 0);
  EXPECT_GT(o.sum(Metric::clearinghouse_unreported, 1), 50);
  EXPECT_EQ(r.sum(Metric::clearinghouse_reports, 1), o.sum(Metric::clearinghouse_unreported, 1));
  // per_platform leaves the services' own keys in force.
  ScenarioSpec per_platform = off;
  per_platform.operators.push_back(operator_of(0, OperatorReporting::per_platform));
  EXPECT_EQ(run_on_seeds(per_platform).sum(Metric::clearinghouse_reports, 1), 0);
}

TEST(ClearinghouseReporting, CompletenessPerOperatorMovesTheActionableShareOnlyThere) {
  ScenarioSpec low = two_services();
  low.operators.push_back(operator_of(0, OperatorReporting::registered, 0.2));
  ScenarioSpec high = low;
  high.operators[0].completeness = 0.9;
  const Totals l = run_on_seeds(low), h = run_on_seeds(high);
  const double reports = l.sum(Metric::clearinghouse_reports, 1);
  ASSERT_EQ(reports, h.sum(Metric::clearinghouse_reports, 1));
  const double share_low = l.sum(Metric::clearinghouse_actionable, 1) / reports;
  const double share_high = h.sum(Metric::clearinghouse_actionable, 1) / reports;
  std::printf("  actionable share on the operator's service: %.3f at 0.2, %.3f at 0.9 (%.0f reports)\n", share_low,
              share_high, reports);
  EXPECT_NEAR(share_low, 0.2, 0.08);
  EXPECT_NEAR(share_high, 0.9, 0.08);
  // The other service: the same reports and the same actionable ones, draw for draw.
  EXPECT_EQ(l.sum(Metric::clearinghouse_actionable, 2), h.sum(Metric::clearinghouse_actionable, 2));
  EXPECT_EQ(l.sum(Metric::clearinghouse_reports, 2), h.sum(Metric::clearinghouse_reports, 2));
}

TEST(ClearinghouseReporting, AProviderThatDoesNotScanStillReportsWhatItConfirmsFromUsersReports) {
  // 18 U.S.C. 2258A: the duty follows actual knowledge, with no duty to scan.
  ScenarioSpec s = test::small(6000, 120);
  s.clearinghouse.le_action_prob = 0;
  auto& c = s.platforms[0].controls;
  c.hash_matching.enabled = false;
  c.url_blocking.enabled = false;
  c.new_material_classifier.enabled = false;
  c.grooming_detection.enabled = false;
  c.behavioural_risk.enabled = false;
  c.clearinghouse_reporting.delay_days = 0;
  const Totals t = run_on_seeds(s);
  EXPECT_EQ(t.sum(Metric::actioned_by_detection, 0), 0);
  EXPECT_GT(t.sum(Metric::actioned_by_report, 0), 10);
  EXPECT_GT(t.sum(Metric::clearinghouse_reports, 0), 10);
  EXPECT_GT(t.sum(Metric::clearinghouse_files, 0), 0);  // confirmed copies users reported
}

TEST(ClearinghouseReporting, LoaderReadsTheOperatorsReportingKeys) {
  const std::string base = "population: {users: 1000}\nplatforms:\n  a: {}\n  b: {}\n";
  const ScenarioSpec s =
      load_scenario_text(base +
                             "clearinghouse: {bundle_window_days: 7}\noperators:\n  co:\n    platforms: [a]\n"
                             "    reporting: unregistered\n    completeness: 0.3\n    delay_days: 1\n",
                         "x");
  EXPECT_EQ(s.clearinghouse.bundle_window_days, 7);
  ASSERT_EQ(s.operators.size(), 1u);
  EXPECT_EQ(s.operators[0].reporting, OperatorReporting::unregistered);
  EXPECT_EQ(s.operators[0].completeness, 0.3);
  EXPECT_EQ(s.operators[0].delay_days, 1);
  const ScenarioSpec again = load_scenario_text(dump_scenario(s), "dump");
  EXPECT_EQ(again.operators[0].reporting, OperatorReporting::unregistered);
  try {
    load_scenario_text(base + "operators:\n  co: {platforms: [a], reporting: yes}\n", "x.yaml");
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("x.yaml:6:"), std::string::npos) << what;
    EXPECT_NE(what.find("operators.co.reporting"), std::string::npos) << what;
  }
}

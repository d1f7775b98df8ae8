// Risk assessment (docs/model/submodels, "Platform behaviour"): a platform that
// measures its own risk switches to its risk response when the measured rate
// crosses a threshold on a review cycle; one that measures nothing never does.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"
#include "test_util.hpp"

using namespace safesim;

namespace {

const std::filesystem::path kSource = SAFESIM_SOURCE_DIR;

/// A small, offender-rich platform (many reports) with a risk assessment whose
/// response turns off DMs to minors and hides them from adults' search.
std::string scenario_text(double threshold, const std::string& signal = "child_safety_reports",
                          const std::string& extra = "") {
  return "population: {users: 6000}\n"
         "horizon_days: 120\n"
         "graph: {mean_degree: 20}\n"
         "offenders: {share_of_adults: 0.01}\n"
         "platforms:\n"
         "  main:\n"
         "    controls:\n"
         "      dm_policy: {under_13: open, under_16: open, under_18: open}\n"
         "      risk_assessment: {enabled: true, signal: " +
         signal + ", threshold_per_1k: " + std::to_string(threshold) +
         ", cycle_days: 30}\n"
         "    risk_response:\n"
         "      set:\n"
         "        controls.dm_policy: {under_13: disabled, under_16: disabled, under_18: disabled}\n"
         "        controls.search_restriction: true\n" +
         extra;
}

ScenarioSpec load(const std::string& text) { return load_scenario_text(text, "risk.yaml"); }

double sum_days(const RunOutput& out, Metric m, std::int64_t from, std::int64_t to) {
  double s = 0;
  for (std::int64_t d = from; d < to; ++d) s += out.day_value(m, d);
  return s;
}

}  // namespace

TEST(Risk, LoaderResolvesTheResponseAgainstTheFinalPlatform) {
  const ScenarioSpec s = load(scenario_text(1.0));
  const PlatformSpec& p = s.platforms[0];
  ASSERT_TRUE(p.on_risk);
  EXPECT_EQ(p.controls.dm_policy.under_16, DmPolicy::open);
  EXPECT_EQ(p.on_risk->controls.dm_policy.under_16, DmPolicy::disabled);
  EXPECT_TRUE(p.on_risk->controls.search_restriction);
  EXPECT_FALSE(p.on_risk->on_risk);
  EXPECT_NE(p.on_risk->risk_response_description.find("controls.search_restriction=true"), std::string::npos);
  // A --set override lands before the response is resolved: the response
  // carries it too.
  LoadOptions opt;
  opt.overrides = {{"platforms.main.controls.reporting.steps", "2"}};
  const ScenarioSpec o = load_scenario_text(scenario_text(1.0), "risk.yaml", opt);
  EXPECT_EQ(o.platforms[0].on_risk->controls.reporting.steps, 2);
  // A bundle as the response, found like any other bundle.
  LoadOptions popt;
  popt.policy_dirs = {(kSource / "scenarios" / "policies").string()};
  const ScenarioSpec b = load_scenario_text(
      "platforms:\n  main:\n    controls: {risk_assessment: {enabled: true}}\n"
      "    risk_response: {policy: industry_teen_accounts}\n",
      "b.yaml", popt);
  ASSERT_TRUE(b.platforms[0].on_risk);
  EXPECT_TRUE(b.platforms[0].on_risk->controls.safety_nudges.enabled);
  EXPECT_FALSE(b.platforms[0].controls.safety_nudges.enabled);
  EXPECT_EQ(b.platforms[0].on_risk->risk_response_description, "policy industry_teen_accounts");
}

TEST(Risk, TimelineEventsKeepTheResponseAndDumpsRoundTrip) {
  const ScenarioSpec s = load(scenario_text(1.0, "child_safety_reports",
                                            "timeline:\n"
                                            "  - {day: 40, platform: main, set: {controls.reporting.steps: 2}}\n"
                                            "  - day: 80\n"
                                            "    platform: main\n"
                                            "    risk_response: {set: {controls.safety_nudges.enabled: true}}\n"));
  ASSERT_EQ(s.timeline.size(), 2u);
  // From day 40 the platform's response is applied to its new state.
  const PlatformSpec& a = s.timeline[0].after;
  ASSERT_TRUE(a.on_risk);
  EXPECT_EQ(a.on_risk->controls.reporting.steps, 2);
  EXPECT_EQ(a.on_risk->controls.dm_policy.under_16, DmPolicy::disabled);
  // From day 80 the event's own response replaces the platform's.
  const PlatformSpec& b = s.timeline[1].after;
  ASSERT_TRUE(b.on_risk);
  EXPECT_TRUE(b.on_risk->controls.safety_nudges.enabled);
  EXPECT_EQ(b.on_risk->controls.dm_policy.under_16, DmPolicy::open);
  EXPECT_EQ(b.on_risk->controls.reporting.steps, 2);
  // The dump writes every response in full and reloads to the same scenario
  // with no bundle files.
  const std::string dump = dump_scenario(s);
  const ScenarioSpec r = load_scenario_text(dump, "dump.yaml");
  EXPECT_TRUE(test::body(dump_scenario(r)) == test::body(dump)) << "the reloaded dump differs";
  EXPECT_EQ(s.timeline[1].description, "new risk_response");
  ASSERT_TRUE(r.timeline[1].after.on_risk);
  EXPECT_TRUE(r.timeline[1].after.on_risk->controls.safety_nudges.enabled);
}

TEST(Risk, ResponseStartsTheDayAfterTheCycleThatCrossedTheThreshold) {
  // Threshold 0 fires at the first review (end of day 29); a threshold no
  // platform reaches never fires. Until the switch the two runs are the same
  // run, bit for bit; after it, the response blocks contacts.
  const auto fires = run(load(scenario_text(0.0)), 3);
  const auto never = run(load(scenario_text(1e9)), 3);
  for (std::int64_t d = 0; d < 30; ++d)
    for (std::size_t k = 0; k < kMetricCount; ++k) {
      if (static_cast<Metric>(k) == Metric::risk_response_active) continue;
      const double a = fires.day_value(static_cast<Metric>(k), d), b = never.day_value(static_cast<Metric>(k), d);
      if (!(std::isnan(a) && std::isnan(b))) {
        ASSERT_EQ(a, b) << kMetrics[k].name << " on day " << d;
      }
    }
  EXPECT_EQ(sum_days(fires, Metric::risk_response_active, 0, 30), 0);
  EXPECT_EQ(sum_days(fires, Metric::risk_response_active, 30, 120), 90);
  EXPECT_EQ(sum_days(never, Metric::risk_response_active, 0, 120), 0);
  EXPECT_EQ(sum_days(never, Metric::contacts_prevented, 30, 120), 0);
  EXPECT_GT(sum_days(fires, Metric::contacts_prevented, 30, 120), 0);
  EXPECT_NEAR(fires.total(Metric::risk_response_active), 90.0 / 120.0, 1e-12);
}

TEST(Risk, APlatformThatMeasuresNothingNeverCrosses) {
  // Same harm, same threshold: measured by child-safety reports it fires; measured by
  // detections on a platform with no detectors it never does.
  const auto reports = run(load(scenario_text(0.5)), 4);
  const auto detections = run(load(scenario_text(0.5, "detections")), 4);
  EXPECT_GT(reports.total(Metric::risk_response_active), 0);
  EXPECT_EQ(detections.total(Metric::actioned_by_detection), 0);
  EXPECT_EQ(detections.total(Metric::risk_response_active), 0);
}

TEST(Risk, ATimelineEventAfterTheSwitchKeepsTheResponse) {
  // An event that restates a value changes nothing, so a run with it must be
  // the same run; an engine that dropped the response at the event would
  // reopen DMs from day 60 on.
  const auto plain = run(load(scenario_text(0.0)), 5);
  const auto with_event =
      run(load(scenario_text(0.0, "child_safety_reports",
                             "timeline:\n  - {day: 60, platform: main, set: {controls.reporting.steps: 5}}\n")),
          5);
  EXPECT_EQ(output_hash(plain), output_hash(with_event));
}

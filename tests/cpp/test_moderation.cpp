// Moderation at platform scale (sim/src/moderation.cpp): other harm categories
// in aggregate, sharing review capacity with child safety, and the rates a
// transparency report publishes from one pool of counts.
#include <gtest/gtest.h>

#include <cmath>

#include "model_util.hpp"

using namespace safesim;
using namespace safesim::test;

namespace {

/// Small, with enough other-harm volume for every count to be non-zero.
ScenarioSpec busy(double violations_per_1k = 20.0) {
  ScenarioSpec s = small(6000, 120);
  s.moderation.violations_per_1k_users_day = violations_per_1k;
  return s;
}

}  // namespace

TEST(Moderation, ActionedAtMostReviewedAtMostReportedPerCategory) {
  ScenarioSpec s = busy();
  s.platforms[0].controls.review.capacity_per_day = 150;  // finite: some reports still wait at the end
  for (const auto& out : run_many(s, seeds(4), 2)) {
    for (std::size_t sc = 0; sc <= out.platforms.size(); ++sc) {
      auto t = [&](Metric m) { return out.total(m, sc); };
      EXPECT_GT(t(Metric::child_safety_reports), 0);
      EXPECT_GT(t(Metric::other_harm_reports_actioned), 0);
      EXPECT_LE(t(Metric::child_safety_reports_actioned), t(Metric::child_safety_reports_reviewed));
      EXPECT_LE(t(Metric::child_safety_reports_reviewed), t(Metric::child_safety_reports));
      EXPECT_LE(t(Metric::other_harm_reports_actioned), t(Metric::other_harm_reports_reviewed));
      EXPECT_LE(t(Metric::other_harm_reports_reviewed), t(Metric::other_harm_reports));
      // Finite capacity: not everything filed was reviewed.
      EXPECT_LT(t(Metric::other_harm_reports_reviewed), t(Metric::other_harm_reports));
      // One pool: every user report is in exactly one category.
      EXPECT_DOUBLE_EQ(t(Metric::user_reports), t(Metric::child_safety_reports) + t(Metric::other_harm_reports));
      EXPECT_LE(t(Metric::unfounded_reports), t(Metric::other_harm_reports));
      EXPECT_LE(t(Metric::other_harm_proactive_actions), t(Metric::other_harm_flags));
      EXPECT_LE(t(Metric::other_harm_wrongful_actions), t(Metric::false_positive_actions));
      EXPECT_LE(t(Metric::other_harm_wrongly_restored), t(Metric::other_harm_restored));
      EXPECT_LE(t(Metric::other_harm_restored), t(Metric::other_harm_appeals));
    }
  }
}

TEST(Moderation, UnfoundedReportsAreTheMajorityByDefault) {
  for (const auto& out : run_many(small(6000, 120), seeds(3), 2)) {
    EXPECT_GT(out.total(Metric::other_harm_reports), 0);
    EXPECT_GT(out.total(Metric::unfounded_reports), 0.5 * out.total(Metric::user_reports));
  }
}

TEST(Moderation, OverallPublishedRatesAreWeightedMixesOfTheCategories) {
  for (const auto& out : run_many(busy(), seeds(4), 2)) {
    auto t = [&](Metric m) { return out.total(m); };
    const double cs = t(Metric::child_safety_reports), oh = t(Metric::other_harm_reports);
    ASSERT_GT(cs, 0);
    ASSERT_GT(oh, 0);
    const double mix =
        (cs * t(Metric::child_safety_report_action_share) + oh * t(Metric::other_harm_report_action_share)) / (cs + oh);
    EXPECT_NEAR(t(Metric::report_action_share), mix, 1e-12);
    // Proactive share: child safety weighted by its rightful actions, other harms by all theirs.
    const double cs_actions = t(Metric::actioned_by_detection) + t(Metric::actioned_by_report);
    const double oh_actions = t(Metric::other_harm_reports_actioned) + t(Metric::other_harm_proactive_actions);
    ASSERT_GT(cs_actions, 0);
    const double pmix = (cs_actions * t(Metric::proactive_share) + oh_actions * t(Metric::other_harm_proactive_share)) /
                        (cs_actions + oh_actions);
    EXPECT_NEAR(t(Metric::proactive_share_all), pmix, 1e-12);
    // Restored on appeal: the overall share lies between the categories' shares.
    const double a = t(Metric::child_safety_restored_share), b = t(Metric::other_harm_restored_share);
    ASSERT_TRUE(std::isfinite(a) && std::isfinite(b));
    EXPECT_GE(t(Metric::restored_share), std::min(a, b) - 1e-12);
    EXPECT_LE(t(Metric::restored_share), std::max(a, b) + 1e-12);
    EXPECT_NEAR(t(Metric::other_harm_restored_share), t(Metric::other_harm_restored) / oh_actions, 1e-12);
  }
}

TEST(Moderation, AnOtherHarmSurgeSlowsChildSafetyReviewWhenCapacityIsShared) {
  ScenarioSpec calm = busy(2.0), surge = busy(100.0);
  for (ScenarioSpec* s : {&calm, &surge}) {
    ReviewSpec& rv = s->platforms[0].controls.review;
    rv.capacity_per_day = 25;
    rv.sla_hours = 48;
    s->moderation.urgent_share = 0.2;  // urgent other-harm items join the child-safety queue
  }
  const Paired breaches = paired(calm, surge, Metric::review_sla_breaches, 12);
  EXPECT_GT(breaches.mean - breaches.half_width, 0) << breaches.mean << " +- " << breaches.half_width;
}

TEST(Moderation, ChildSafetyOutputsIgnoreOtherHarmsWhenCapacityIsUnlimited) {
  ScenarioSpec none = small(6000, 120), with = small(6000, 120);
  none.moderation.violations_per_1k_users_day = 0;
  for (ScenarioSpec* s : {&none, &with}) {
    s->platforms[0].controls.review.capacity_per_day = 1e9;
    s->platforms[0].controls.review.sla_hours = 24;
  }
  const Metric child_safety[] = {Metric::minors_contacted,
                                 Metric::minors_exploited,
                                 Metric::exposure_days,
                                 Metric::offenders_detected,
                                 Metric::offenders_banned,
                                 Metric::child_safety_reports,
                                 Metric::child_safety_reports_reviewed,
                                 Metric::child_safety_reports_actioned,
                                 Metric::actioned_by_report,
                                 Metric::actioned_by_detection,
                                 Metric::material_removed,
                                 Metric::abuse_material_views,
                                 Metric::clearinghouse_reports,
                                 Metric::review_sla_breaches,
                                 Metric::proactive_share,
                                 Metric::time_to_detection_days,
                                 Metric::child_safety_report_action_share};
  for (const auto seed : seeds(3)) {
    const RunOutput a = run(none, seed), b = run(with, seed);
    EXPECT_EQ(a.total(Metric::other_harm_violations), 0);
    EXPECT_GT(b.total(Metric::other_harm_violations), 0);
    EXPECT_GT(b.total(Metric::other_harm_reports), a.total(Metric::other_harm_reports));
    for (const Metric m : child_safety) {
      const double x = a.total(m), y = b.total(m);
      if (std::isnan(x)) {
        EXPECT_TRUE(std::isnan(y)) << kMetrics[idx(m)].name;
      } else {
        EXPECT_EQ(x, y) << kMetrics[idx(m)].name << " seed " << seed;
      }
    }
  }
}

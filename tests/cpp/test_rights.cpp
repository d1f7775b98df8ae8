// The rights side (sim/src/rights.cpp): privacy intrusion and wrongful actions
// as measured burdens. Paired tests of scanning choices, and conservation.
#include <gtest/gtest.h>

#include "model_util.hpp"

using namespace safesim;
using namespace safesim::test;

namespace {

/// Small, detector-heavy: every direct message end-to-end encrypted, no detector on.
ScenarioSpec encrypted(std::int64_t users = 5000, std::int64_t days = 120) {
  ScenarioSpec s = small(users, days);
  ControlsSpec& c = s.platforms[0].controls;
  c.e2ee_share = 1.0;
  c.hash_matching.enabled = false;
  c.new_material_classifier.enabled = false;
  c.grooming_detection.enabled = false;
  c.behavioural_risk.enabled = false;
  return s;
}

}  // namespace

TEST(Rights, ClientSideScanningInspectsAndReviewsPrivateItems) {
  ScenarioSpec off = encrypted(), on = encrypted();
  for (ScenarioSpec* s : {&off, &on}) {
    auto& cl = s->platforms[0].controls.new_material_classifier;
    cl.enabled = true;
    cl.private_surfaces = true;
    cl.fp_per_million = 200;  // above zero: benign private items are flagged
  }
  on.platforms[0].controls.client_side_scanning = true;
  const Paired scanned = paired(off, on, Metric::private_items_scanned, 6);
  EXPECT_GT(scanned.mean - scanned.half_width, 0) << scanned.mean << " +- " << scanned.half_width;
  const Paired reviewed = paired(off, on, Metric::benign_private_items_reviewed, 6);
  EXPECT_GT(reviewed.mean - reviewed.half_width, 0) << reviewed.mean << " +- " << reviewed.half_width;
  const Paired people = paired(off, on, Metric::users_private_content_reviewed, 6);
  EXPECT_GT(people.mean - people.half_width, 0) << people.mean << " +- " << people.half_width;
  // Without scanning on the device nothing encrypted in messages is read.
  for (const auto& out : run_many(off, seeds(3), 2)) EXPECT_EQ(out.total(Metric::benign_private_items_reviewed), 0.0);
}

TEST(Rights, HashMatchingReviewsFarFewerPrivateItemsThanAClassifierAtEqualCoverage) {
  ScenarioSpec hash = encrypted(), classifier = encrypted();
  for (ScenarioSpec* s : {&hash, &classifier}) s->platforms[0].controls.e2ee_share = 0.0;
  hash.platforms[0].controls.hash_matching = {true, true, true, 0.9, 0.5, 0.02};
  auto& cl = classifier.platforms[0].controls.new_material_classifier;
  cl.enabled = true;
  cl.private_surfaces = true;
  for (const auto seed : seeds(4)) {
    const auto h = run(hash, seed), c = run(classifier, seed);
    // Equal coverage: the same private items inspected.
    EXPECT_NEAR(h.total(Metric::private_items_scanned), c.total(Metric::private_items_scanned),
                1e-9 * c.total(Metric::private_items_scanned));
    EXPECT_GT(c.total(Metric::private_items_scanned), 0);
    EXPECT_GT(c.total(Metric::benign_private_items_reviewed), 0);
    // Hash matches are automated: a moderator sees one only on appeal, and they are rare.
    EXPECT_LE(10 * h.total(Metric::benign_private_items_reviewed), c.total(Metric::benign_private_items_reviewed))
        << "seed " << seed;
  }
}

TEST(Rights, ConservationInEveryScope) {
  ScenarioSpec s = small(5000, 150);
  s.platforms.push_back(s.platforms[0]);
  s.platforms[1].name = "b";
  s.platforms[0].user_share = 0.7;
  s.platforms[1].user_share = 0.6;
  for (auto& p : s.platforms) {
    ControlsSpec& c = p.controls;
    c.e2ee_share = 0.5;
    c.client_side_scanning = true;
    c.hash_matching = {true, true, true, 0.9, 0.5, 500};  // absurd on purpose: automated wrongful actions
    c.new_material_classifier.enabled = true;
    c.new_material_classifier.private_surfaces = true;
    c.new_material_classifier.fp_per_million = 2000;
    c.grooming_detection.enabled = true;
    c.grooming_detection.fp_per_million = 500;
    c.review.capacity_per_day = 3;  // a backlog: flagged items wait, unreviewed
  }
  OperatorSpec op;
  op.name = "both";
  op.platforms = {0, 1};
  s.operators.push_back(op);
  for (const auto seed : seeds(3)) {
    const auto out = run(s, seed);
    ASSERT_EQ(out.totals.size(), 3 * kMetricCount);
    ASSERT_EQ(out.operator_totals.size(), kMetricCount);
    // Scopes 0 (ecosystem), 1 and 2 (platforms), 3 (the operator).
    auto get = [&](Metric m, std::size_t sc) { return sc < 3 ? out.total(m, sc) : out.operator_totals[idx(m)]; };
    for (std::size_t sc = 0; sc < 4; ++sc) {
      auto t = [&](Metric m) { return get(m, sc); };
      const std::string where = "scope " + std::to_string(sc) + " seed " + std::to_string(seed);
      EXPECT_GT(t(Metric::benign_private_items_flagged), 0) << where;
      EXPECT_LE(t(Metric::benign_private_items_reviewed), t(Metric::benign_private_items_flagged)) << where;
      EXPECT_LE(t(Metric::benign_private_items_flagged), t(Metric::detections)) << where;
      EXPECT_LE(t(Metric::minor_private_items_reviewed), t(Metric::benign_private_items_reviewed)) << where;
      EXPECT_LE(t(Metric::minor_private_items_scanned), t(Metric::private_items_scanned)) << where;
      EXPECT_GT(t(Metric::users_private_content_reviewed), 0) << where;
      EXPECT_LE(t(Metric::users_private_content_reviewed), t(Metric::users)) << where;
      // Each item shows at most two people (a conversation's two sides).
      EXPECT_LE(t(Metric::users_private_content_reviewed), 2 * t(Metric::benign_private_items_reviewed)) << where;
      EXPECT_LE(t(Metric::minors_private_content_reviewed), t(Metric::users_private_content_reviewed)) << where;
      EXPECT_LE(t(Metric::minors_private_content_reviewed), t(Metric::minors)) << where;
      EXPECT_GT(t(Metric::minors_wrongly_actioned), 0) << where;
      EXPECT_LE(t(Metric::minors_wrongly_actioned), t(Metric::false_positive_actions)) << where;
      EXPECT_LE(t(Metric::minors_wrongly_actioned), t(Metric::minors)) << where;
      EXPECT_LE(t(Metric::accounts_wrongly_banned), t(Metric::false_positive_actions)) << where;
      EXPECT_LE(t(Metric::accounts_reinstated), t(Metric::appeals_upheld)) << where;
      EXPECT_DOUBLE_EQ(t(Metric::reinstatement_wait_days), t(Metric::accounts_reinstated) * s.benign.appeal_delay_days)
          << where;
      EXPECT_GT(t(Metric::clearinghouse_reports_benign), 0) << where;
      EXPECT_LE(t(Metric::clearinghouse_reports_benign), t(Metric::clearinghouse_reports)) << where;
      EXPECT_LE(t(Metric::law_enforcement_benign_cases), t(Metric::clearinghouse_reports_benign)) << where;
      EXPECT_NEAR(t(Metric::private_reviewed_per_million_scanned),
                  1e6 * t(Metric::benign_private_items_reviewed) / t(Metric::private_items_scanned), 1e-6)
          << where;
    }
    // Distinct people: the operator of both platforms is the ecosystem, and
    // each platform's count is at most the ecosystem's.
    for (Metric m : {Metric::users_private_content_reviewed, Metric::minors_private_content_reviewed,
                     Metric::minors_wrongly_actioned}) {
      EXPECT_EQ(get(m, 3), out.total(m, 0)) << kMetrics[idx(m)].name;
      EXPECT_LE(out.total(m, 1), out.total(m, 0)) << kMetrics[idx(m)].name;
      EXPECT_LE(out.total(m, 0), out.total(m, 1) + out.total(m, 2)) << kMetrics[idx(m)].name;
    }
  }
}

TEST(Rights, NoContentDetectorNoPrivacyBurden) {
  const ScenarioSpec s = encrypted(3000, 90);
  for (const auto& out : run_many(s, seeds(2), 2))
    for (Metric m : {Metric::private_items_scanned, Metric::benign_private_items_flagged,
                     Metric::benign_private_items_reviewed, Metric::users_private_content_reviewed})
      EXPECT_EQ(out.total(m), 0.0) << kMetrics[idx(m)].name;
}

// Operators and encryption by surface (docs/how-to/operators-and-encryption.md):
// a company's shared enforcement record, its output scope, and what content
// detectors see of an encrypted surface. Paired runs on the same seeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"
#include "test_util.hpp"

using namespace safesim;

namespace {

std::vector<std::uint64_t> seeds(int n) {
  std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 300);
  return v;
}

/// Two platforms most users are on (so offenders hold accounts on both);
/// reports and review confirm offenders on either.
ScenarioSpec two_services() {
  ScenarioSpec s = default_scenario();
  s.population.users = 6000;
  s.horizon_days = 150;
  s.graph.mean_degree = 20;
  s.offenders.share_of_adults = 0.01;
  for (auto* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor}) t->accounts = 4;
  s.platforms[0].name = "a";
  s.platforms[0].user_share = 0.9;
  s.platforms.push_back(s.platforms[0]);
  s.platforms[1].name = "b";
  s.platforms[0].controls.hash_matching.enabled = true;  // a confirms offenders by hash matching too
  return s;
}

OperatorSpec one_operator(std::vector<std::size_t> platforms, double reach) {
  OperatorSpec o;
  o.name = "company";
  o.platforms = std::move(platforms);
  o.enforcement_reach = reach;
  o.pooled_review = false;
  return o;
}

double total(const RunOutput& out, Metric m, std::size_t scope) { return out.total(m, scope); }

double operator_total(const RunOutput& out, Metric m, std::size_t op) {
  return out.operator_totals[op * kMetricCount + idx(m)];
}

/// Equal element by element, NaN equal to NaN (undefined derived figures).
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

}  // namespace

TEST(Operators, ABanReachesSiblingAccountsOnlyWhenTheOperatorSharesEnforcement) {
  ScenarioSpec separate = two_services();
  ScenarioSpec shared = separate;
  shared.operators.push_back(one_operator({0, 1}, 1.0));
  ScenarioSpec unshared = separate;
  unshared.operators.push_back(one_operator({0, 1}, 0.0));
  const auto sd = seeds(6);
  const auto rs = run_many(separate, sd, 2);
  const auto rsh = run_many(shared, sd, 2);
  const auto run0 = run_many(unshared, sd, 2);
  double acted = 0;
  for (std::size_t i = 0; i < sd.size(); ++i) {
    // Signal sharing is off: only the operator's record bans on a sibling's finding.
    EXPECT_EQ(total(rs[i], Metric::offenders_detected_signal_sharing, 0), 0.0);
    EXPECT_EQ(total(run0[i], Metric::offenders_detected_signal_sharing, 0), 0.0);
    // Declaring an operator that does not share enforcement (and pools nothing)
    // changes no platform's outcome: same seeds, same results.
    EXPECT_TRUE(same(rs[i].totals, run0[i].totals));
    EXPECT_TRUE(same(rs[i].daily, run0[i].daily));
    acted += total(rsh[i], Metric::offenders_detected_signal_sharing, 0);
    // Every sibling ban is charged to the service that acts, never more than
    // the confirmed bans on the other service can explain.
    for (std::size_t p : {1u, 2u}) {
      const std::size_t other = 3 - p;
      const double confirmed = total(rsh[i], Metric::offenders_detected, other) -
                               total(rsh[i], Metric::offenders_detected_signal_sharing, other) -
                               total(rsh[i], Metric::offenders_detected_linkage, other) -
                               total(rsh[i], Metric::offenders_detected_law_enforcement, other);
      EXPECT_LE(total(rsh[i], Metric::offenders_detected_signal_sharing, p), 256.0 * confirmed);
    }
  }
  EXPECT_GT(acted, 10.0) << "a shared record should ban offenders' sibling accounts";
  // More offender accounts banned on b with the shared record (paired).
  double diff = 0;
  for (std::size_t i = 0; i < sd.size(); ++i)
    diff += total(rsh[i], Metric::offenders_banned, 2) - total(rs[i], Metric::offenders_banned, 2);
  EXPECT_GT(diff, 0.0);
}

TEST(Operators, ABanOnOneServiceRemovesThePersonsAccountOnTheSibling) {
  // With reach 1, a distributor caught by hash matching on service a loses its
  // account on b the same day, though b does not hash-match: b's bans through
  // the record follow a's confirmed bans, never precede them.
  ScenarioSpec s = two_services();
  s.offenders.groomer.share = 0;
  s.offenders.sextortion.share = 0;
  s.offenders.distributor.share = 1;
  s.offenders.distributor.reentry_prob = 0;
  s.offenders.distributor.report_per_day = {0, 0, 0, 0};
  s.content.viewer_report_per_day = 0;
  s.content.trusted_flagger_find_per_day = 0;
  s.content.group_share = 1;  // all material in groups: hash matching on public surfaces sees it
  s.benign.false_reports_per_1k_users_day = 0;
  s.operators.push_back(one_operator({0, 1}, 1.0));
  for (auto seed : seeds(4)) {
    const auto out = run(s, seed);
    const double hash_a = total(out, Metric::offenders_detected_hash, 1);
    const double record_b = total(out, Metric::offenders_detected_signal_sharing, 2);
    EXPECT_GT(hash_a, 0.0);
    EXPECT_GT(record_b, 0.0);
    EXPECT_EQ(total(out, Metric::offenders_detected_hash, 2), 0.0) << "b does not hash-match";
    // b's record bans never precede a's first confirmed ban.
    std::int64_t first_a = -1, first_b = -1;
    for (std::int64_t d = 0; d < out.days; ++d) {
      const double confirmed_a = out.day_value(Metric::offenders_detected, d, 1) -
                                 out.day_value(Metric::offenders_detected_signal_sharing, d, 1) -
                                 out.day_value(Metric::offenders_detected_linkage, d, 1) -
                                 out.day_value(Metric::offenders_detected_law_enforcement, d, 1);
      if (first_a < 0 && confirmed_a > 0) first_a = d;
      if (first_b < 0 && out.day_value(Metric::offenders_detected_signal_sharing, d, 2) > 0) first_b = d;
    }
    EXPECT_GE(first_b, first_a);
  }
}

TEST(Operators, OperatorFlowsAreTheSumsOfTheirPlatforms) {
  ScenarioSpec s = two_services();
  s.platforms.push_back(s.platforms[1]);
  s.platforms[2].name = "c";
  s.platforms[2].user_share = 0.3;
  s.operators.push_back(one_operator({0, 2}, 0.5));
  s.operators[0].pooled_review = true;
  for (auto seed : seeds(3)) {
    const auto out = run(s, seed);
    ASSERT_EQ(out.operators.size(), 1u);
    ASSERT_EQ(out.operator_totals.size(), kMetricCount);
    ASSERT_EQ(out.operator_daily.size(), static_cast<std::size_t>(out.days) * kMetricCount);
    for (std::size_t k = 0; k < kMetricCount; ++k) {
      const auto m = static_cast<Metric>(k);
      const std::string name(kMetrics[k].name);
      const double a = total(out, m, 1), c = total(out, m, 3), op = operator_total(out, m, 0);
      if (kMetrics[k].kind == MetricKind::derived || name == "minors_protected_share") continue;
      const bool population = name == "users" || name == "minors" || name == "adults";
      const bool people = name == "users_private_content_reviewed";  // distinct people, like minors_*
      if ((name.rfind("minors_", 0) == 0 && kMetrics[k].kind == MetricKind::flow) || population || people) {
        // Distinct minors (and people): each counted once across the operator's services.
        EXPECT_LE(op, a + c + 1e-9) << name;
        EXPECT_GE(op, std::max(a, c) - 1e-9) << name;
        continue;
      }
      EXPECT_TRUE(close(op, a + c)) << name << ": operator " << op << " vs " << a << " + " << c;
      for (std::int64_t d = 0; d < out.days; d += 17) {
        const double od = out.operator_daily[(static_cast<std::size_t>(d)) * kMetricCount + k];
        EXPECT_TRUE(close(od, out.day_value(m, d, 1) + out.day_value(m, d, 3))) << name << " day " << d;
      }
    }
  }
}

TEST(Operators, AnOperatorOfEveryPlatformIsTheEcosystem) {
  ScenarioSpec s = two_services();
  s.operators.push_back(one_operator({0, 1}, 0.7));
  const auto out = run(s, 11);
  for (std::size_t k = 0; k < kMetricCount; ++k) {
    const double eco = out.totals[k], op = out.operator_totals[k];
    if (std::isnan(eco)) {
      EXPECT_TRUE(std::isnan(op)) << kMetrics[k].name;
    } else {
      EXPECT_TRUE(close(eco, op)) << kMetrics[k].name << ": ecosystem " << eco << " vs operator " << op;
    }
  }
}

TEST(Operators, NoDeclaredOperatorsLeavesOutputsAsTheyWere) {
  ScenarioSpec s = two_services();
  const auto plain = run(s, 5);
  EXPECT_TRUE(plain.operators.empty());
  EXPECT_TRUE(plain.operator_totals.empty());
  EXPECT_TRUE(plain.operator_daily.empty());
  // One declared operator per platform: the same platform outputs, and each
  // operator's figures are its platform's.
  s.operators.push_back(one_operator({0}, 1.0));
  s.operators.push_back(one_operator({1}, 1.0));
  s.operators[1].name = "other";
  const auto declared = run(s, 5);
  EXPECT_TRUE(same(plain.totals, declared.totals));
  EXPECT_TRUE(same(plain.daily, declared.daily));
  for (std::size_t o = 0; o < 2; ++o)
    for (std::size_t k = 0; k < kMetricCount; ++k) {
      const double p = plain.totals[(o + 1) * kMetricCount + k], op = declared.operator_totals[o * kMetricCount + k];
      EXPECT_TRUE(std::isnan(p) ? std::isnan(op) : p == op) << kMetrics[k].name;
    }
}

TEST(Operators, LoaderReadsOperatorsAndRejectsBadOnes) {
  const std::string base = "population: {users: 1000}\nplatforms:\n  a: {}\n  b: {}\n  c: {}\n";
  const ScenarioSpec s = load_scenario_text(
      base + "operators:\n  co:\n    platforms: [a, c]\n    enforcement_reach: 0.25\n    pooled_review: false\n", "x");
  ASSERT_EQ(s.operators.size(), 1u);
  EXPECT_EQ(s.operators[0].name, "co");
  EXPECT_EQ(s.operators[0].platforms, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(s.operators[0].enforcement_reach, 0.25);
  EXPECT_FALSE(s.operators[0].pooled_review);
  // The dump carries the operators and loads back to the same scenario.
  const ScenarioSpec again = load_scenario_text(dump_scenario(s), "dump");
  ASSERT_EQ(again.operators.size(), 1u);
  EXPECT_EQ(again.operators[0].platforms, s.operators[0].platforms);
  EXPECT_TRUE(test::body(dump_scenario(again)) == test::body(dump_scenario(s)));
  // An override reaches an operator's key.
  LoadOptions o;
  o.overrides = {{"operators.co.enforcement_reach", "0.75"}};
  EXPECT_EQ(load_scenario_text(base + "operators:\n  co: {platforms: [a]}\n", "x", o).operators[0].enforcement_reach,
            0.75);
  auto error = [&](const std::string& ops) {
    try {
      load_scenario_text(base + ops, "x.yaml");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("operators:\n  co: {platforms: [a, d]}\n").find("x.yaml:7:"), std::string::npos);
  EXPECT_NE(error("operators:\n  co: {platforms: [a, d]}\n").find("unknown platform 'd'"), std::string::npos);
  EXPECT_NE(error("operators:\n  co: {platforms: [a]}\n  co2: {platforms: [b, a]}\n")
                .find("operators.co2.platforms: platform 'a' already belongs to operator 'co'"),
            std::string::npos);
  EXPECT_NE(error("operators:\n  b: {platforms: [a]}\n").find("has the name of platform 'b'"), std::string::npos);
  EXPECT_NE(error("operators:\n  co: {platforms: []}\n").find("at least one platform"), std::string::npos);
  EXPECT_NE(error("operators:\n  co: {platforms: [a], enforcement_reach: 2}\n")
                .find("operators.co.enforcement_reach: expected a probability"),
            std::string::npos);
  EXPECT_NE(error("operators:\n  co: {platforms: [a], reach: 1}\n").find("unknown key 'reach'"), std::string::npos);
}

// ---------------------------------------------------------------- encryption by surface
namespace {

/// One platform, distributors only, every upload in a group, hash matching on
/// public surfaces (groups): hash detections come only from group posts.
ScenarioSpec all_material_in_groups() {
  ScenarioSpec s = default_scenario();
  s.population.users = 6000;
  s.horizon_days = 120;
  s.graph.mean_degree = 20;
  s.offenders.share_of_adults = 0.01;
  s.offenders.groomer.share = 0.3;
  s.offenders.sextortion.share = 0;
  s.offenders.distributor.share = 0.7;
  s.content.group_share = 1.0;
  auto& c = s.platforms[0].controls;
  c.hash_matching.enabled = true;
  c.hash_matching.public_surfaces = true;
  c.hash_matching.private_surfaces = true;
  c.new_material_classifier.enabled = true;
  return s;
}

}  // namespace

TEST(EncryptionBySurface, EncryptingGroupChatsBlindsHashMatchingUnlessScannedOnTheDevice) {
  const ScenarioSpec open = all_material_in_groups();
  ScenarioSpec encrypted = open;
  encrypted.platforms[0].controls.e2ee_group_share = 1.0;
  ScenarioSpec scanned = encrypted;
  scanned.platforms[0].controls.client_side_scanning = true;
  ScenarioSpec dms_only = open;  // encrypting the direct-message surface leaves groups readable
  dms_only.platforms[0].controls.e2ee_share = 1.0;
  for (auto seed : seeds(4)) {
    const auto o = run(open, seed), e = run(encrypted, seed), c = run(scanned, seed), d = run(dms_only, seed);
    EXPECT_GT(o.total(Metric::offenders_detected_hash), 0.0);
    EXPECT_EQ(e.total(Metric::offenders_detected_hash), 0.0) << "an encrypted group is invisible to hash matching";
    EXPECT_GT(c.total(Metric::offenders_detected_hash), 0.0) << "client-side scanning reads the encrypted group";
    EXPECT_GT(d.total(Metric::offenders_detected_hash), 0.0);
    // What remains of an encrypted group: participants still report what they see.
    EXPECT_GT(e.total(Metric::bystander_reports), 0.0);
    EXPECT_GE(e.total(Metric::material_never_detected), o.total(Metric::material_never_detected));
  }
}

TEST(EncryptionBySurface, TheFileSurfaceHasItsOwnEncryption) {
  ScenarioSpec s = all_material_in_groups();
  s.content.file_share = 1.0;  // every copy goes through the file-transfer surface
  ScenarioSpec files_encrypted = s;
  files_encrypted.platforms[0].controls.e2ee_file_share = 1.0;
  ScenarioSpec groups_encrypted = s;
  groups_encrypted.platforms[0].controls.e2ee_group_share = 1.0;
  for (auto seed : seeds(3)) {
    const auto f = run(files_encrypted, seed), g = run(groups_encrypted, seed);
    EXPECT_EQ(f.total(Metric::offenders_detected_hash), 0.0);
    EXPECT_GT(g.total(Metric::offenders_detected_hash), 0.0) << "files keep their own surface's (open) encryption";
  }
}

TEST(Operators, AChangeConfinedToOneOperatorLeavesTheOthersBitIdentical) {
  // Common random numbers: draws are keyed by stable ids, so when no offender
  // can move between operators (no conversation moves, no returns, no revisits, no replacements, platform
  // choice blind to detection, no material, no law enforcement or signals
  // reaching across), a policy change on big_co's services leaves other_co's
  // service exactly as it was (its totals bit for bit).
  ScenarioSpec s = two_services();
  s.platforms.push_back(s.platforms[1]);
  s.platforms[2].name = "c";
  s.offenders.risk_aversion = 0;
  s.offenders.distributor.share = 0;
  s.offenders.groomer.share = 0.9;
  s.offenders.sextortion.share = 0.1;
  // Every type, peers included: a peer banned at big_co could return at other_co (with the peer type left out,
  // 3 of 12 seeds differed there).
  for (auto* t : {&s.offenders.groomer, &s.offenders.sextortion, &s.offenders.distributor, &s.offenders.peer}) {
    t->move_request_prob = 0;
    t->reentry_prob = 0;
    t->revisit_prob = 0;  // a remembered minor could be sought from an account at the other operator
  }
  s.offenders.replacement = false;  // a replacement chooses its platforms anew
  s.clearinghouse.le_capacity_per_million_users_day = 0;
  s.operators.push_back(one_operator({0, 1}, 1.0));
  s.operators[0].pooled_review = true;
  OperatorSpec other = one_operator({2}, 1.0);
  other.name = "other_co";
  s.operators.push_back(other);
  ScenarioSpec changed = s;
  for (std::size_t p : {0u, 1u}) {
    auto& c = changed.platforms[p].controls;
    c.safety_nudges.enabled = true;
    c.dm_policy = {DmPolicy::connected_only, DmPolicy::connected_only, DmPolicy::connected_only};
    c.behavioural_risk.enabled = true;
    c.review.capacity_per_day = 20;
  }
  for (auto seed : seeds(12)) {
    const auto a = run(s, seed), b = run(changed, seed);
    // big_co's outcomes move ...
    EXPECT_NE(operator_total(a, Metric::contacts_prevented, 0), operator_total(b, Metric::contacts_prevented, 0));
    // ... other_co's do not, day by day and in total; except the recontact
    // counts, which are about the person: a minor who blocked him on big_co
    // and meets his account on other_co is recontacted there by definition.
    std::vector<double> ta(a.operator_totals.begin() + kMetricCount, a.operator_totals.end());
    std::vector<double> tb(b.operator_totals.begin() + kMetricCount, b.operator_totals.end());
    std::vector<double> da(a.operator_daily.begin() + static_cast<std::ptrdiff_t>(a.days * kMetricCount),
                           a.operator_daily.end());
    std::vector<double> db(b.operator_daily.begin() + static_cast<std::ptrdiff_t>(b.days * kMetricCount),
                           b.operator_daily.end());
    for (auto* v : {&ta, &tb, &da, &db})
      for (std::size_t k = 0; k < v->size(); k += kMetricCount)
        for (Metric m : {Metric::recontacts_after_block, Metric::minors_recontacted}) (*v)[k + idx(m)] = 0;
    EXPECT_TRUE(same(ta, tb));
    // Day by day to the last bits but one: a day's exposure_days is a sum of
    // conversations' hours taken in the order the day's dyad events fire, and
    // big_co's events interleave with other_co's (12 seeds: 4 days differed,
    // each in its last bit).
    ASSERT_EQ(da.size(), db.size());
    for (std::size_t k = 0; k < da.size(); ++k)
      EXPECT_TRUE(close(da[k], db[k]) || (std::isnan(da[k]) && std::isnan(db[k])))
          << "day " << k / kMetricCount << ", " << kMetrics[k % kMetricCount].name << ", seed " << seed;
  }
}

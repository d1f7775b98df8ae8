// The graph build on several threads (sim/src/graph.cpp, issue 19 item 3):
// the same graphs, groups and run outputs, bit for bit, at 1, 2 and 4 build
// threads, on an ecosystem of platforms of different sizes, so both paths of
// the build run: a platform large enough to be split into blocks across
// threads (at least 65,536 members), and small platforms built side by side.
// The structure cache is cleared before every build, or the later builds
// would be copies of the first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model_util.hpp"
#include "radix_sort.hpp"
#include "safesim/rng.hpp"
#include "safesim/simulation.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

using namespace safesim;

namespace {

/// One large platform (~72,000 members), two middling ones and a tail of
/// small ones; `mean_degree` 20 leaves classes incomplete (each pair tied
/// with a keyed draw), 50 makes them complete (no draw), the two ways the
/// build generates ties within a class.
ScenarioSpec ecosystem(double mean_degree) {
  ScenarioSpec s = test::small(80000, 20);
  s.graph.mean_degree = mean_degree;
  s.platforms[0].name = "large";
  s.platforms[0].user_share = 0.9;
  const PlatformSpec base = s.platforms[0];
  const double shares[] = {0.3, 0.12, 0.01, 0.004, 0.002, 0.001};
  for (std::size_t k = 0; k < std::size(shares); ++k) {
    PlatformSpec p = base;
    p.name = "p" + std::to_string(k);
    p.user_share = shares[k];
    s.platforms.push_back(p);
  }
  return s;
}

struct Built {
  std::vector<std::vector<std::uint32_t>> offsets, targets, group_offsets, group_members;
  std::vector<std::vector<std::uint64_t>> trusted;  // one bit per edge
  // graph.on_demand: each platform's community layout.
  std::vector<std::vector<std::uint32_t>> order, position, partner;
  std::vector<std::vector<float>> activity_at;
  // The population (drawn in blocks of ids on the build threads).
  std::vector<std::uint8_t> age, boy;
  std::vector<float> vulnerability, activity;
  std::vector<std::uint32_t> minors;
};

Built build(const ScenarioSpec& spec, int threads) {
  const detail::State s = test::fresh_structure(spec, 23, threads);
  Built b;
  b.age = s.pop.age;
  b.boy = s.pop.boy;
  b.vulnerability = s.pop.vulnerability;
  b.activity = s.pop.activity;
  b.minors = s.pop.minors;
  for (const detail::PlatformState& P : s.platforms) {
    if (const detail::GraphArrays* g = P.graph.arrays.get(); g != nullptr && g->on_demand()) {
      b.order.push_back(g->order);
      b.position.push_back(g->position);
      b.partner.push_back(g->partner);
      b.activity_at.emplace_back(g->activity_at.begin(), g->activity_at.end());
    }
    b.offsets.emplace_back(P.graph.offsets.begin(), P.graph.offsets.end());
    b.targets.emplace_back(P.graph.targets.begin(), P.graph.targets.end());
    b.trusted.emplace_back(P.graph.trusted_bits.begin(), P.graph.trusted_bits.end());
    b.group_offsets.emplace_back(P.groups.offsets.begin(), P.groups.offsets.end());
    b.group_members.emplace_back(P.groups.members.begin(), P.groups.members.end());
  }
  return b;
}

}  // namespace

TEST(ParallelBuild, GraphsAreIdenticalAtOneTwoAndFourThreads) {
  for (double degree : {20.0, 50.0}) {
    const ScenarioSpec spec = ecosystem(degree);
    const Built one = build(spec, 1);
    ASSERT_GT(one.age.size(), 65536u);  // more than one block of ids
    ASSERT_FALSE(one.minors.empty());
    // The large platform takes the split path; the graph is not trivial.
    ASSERT_GE(one.offsets[0].size() - 1, 65536u);
    ASSERT_GT(one.targets[0].size(), static_cast<std::size_t>(10 * (one.offsets[0].size() - 1)));
    // Rows canonical: distinct targets in ascending order.
    for (std::size_t v = 0; v + 1 < one.offsets[0].size(); ++v)
      for (std::uint32_t e = one.offsets[0][v] + 1; e < one.offsets[0][v + 1]; ++e)
        ASSERT_LT(one.targets[0][e - 1], one.targets[0][e]) << "row " << v;
    for (int threads : {2, 4}) {
      const Built many = build(spec, threads);
      ASSERT_EQ(many.offsets.size(), one.offsets.size());
      for (std::size_t p = 0; p < one.offsets.size(); ++p) {
        EXPECT_EQ(many.offsets[p], one.offsets[p]) << "platform " << p << ", " << threads << " threads";
        EXPECT_EQ(many.targets[p], one.targets[p]) << "platform " << p << ", " << threads << " threads";
        EXPECT_EQ(many.trusted[p], one.trusted[p]) << "platform " << p << ", " << threads << " threads";
        EXPECT_EQ(many.group_offsets[p], one.group_offsets[p]) << "platform " << p;
        EXPECT_EQ(many.group_members[p], one.group_members[p]) << "platform " << p;
      }
      EXPECT_EQ(many.age, one.age) << threads << " threads";
      EXPECT_EQ(many.boy, one.boy) << threads << " threads";
      EXPECT_EQ(many.vulnerability, one.vulnerability) << threads << " threads";
      EXPECT_EQ(many.activity, one.activity) << threads << " threads";
      EXPECT_EQ(many.minors, one.minors) << threads << " threads";
    }
  }
}

TEST(ParallelBuild, OnDemandLayoutsAreIdenticalAtOneTwoAndFourThreads) {
  // Two platforms of more than 65,536 members: at 2 threads they are built
  // side by side, one thread each; at 4 (more threads than large platforms)
  // one at a time, each split over every thread.
  ScenarioSpec spec = ecosystem(20.0);
  spec.graph.on_demand = true;
  spec.platforms[1].user_share = 0.9;
  const Built one = build(spec, 1);
  ASSERT_EQ(one.position.size(), spec.platforms.size());
  ASSERT_GT(one.position[0].size(), 65536u);  // the large platforms' layouts are laid out in blocks
  ASSERT_GT(one.position[1].size(), 65536u);
  for (std::size_t i = 0; i < one.order[0].size(); ++i) ASSERT_EQ(one.position[0][one.order[0][i]], i);
  for (int threads : {2, 4}) {
    const Built many = build(spec, threads);
    ASSERT_EQ(many.position.size(), one.position.size());
    for (std::size_t p = 0; p < one.position.size(); ++p) {
      EXPECT_EQ(many.order[p], one.order[p]) << "platform " << p << ", " << threads << " threads";
      EXPECT_EQ(many.position[p], one.position[p]) << "platform " << p << ", " << threads << " threads";
      EXPECT_EQ(many.activity_at[p], one.activity_at[p]) << "platform " << p << ", " << threads << " threads";
      EXPECT_EQ(many.partner[p], one.partner[p]) << "platform " << p << ", " << threads << " threads";
      EXPECT_EQ(many.group_members[p], one.group_members[p]) << "platform " << p << ", " << threads << " threads";
    }
  }
}

TEST(ParallelBuild, SortKeysGivesStdSortsOrder) {
  // sort_keys (community order, strangers' due times) against std::sort, on
  // lengths either side of its short-array cut-off, with high words drawn
  // from ranges that leave some or all of the radix passes with a single
  // digit (skipped), and many repeats (where stability decides); low words
  // ascending (the radix path) and descending (std::sort's).
  std::uint64_t state = 12345;
  const auto next = [&] {  // splitmix64
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  for (bool ascending : {true, false})
    for (std::size_t len : {0u, 1u, 255u, 256u, 1000u, 100000u})
      for (std::uint64_t range : {1ull, 7ull, 300ull, 70000ull, 1ull << 32}) {
        std::vector<std::uint64_t> keys(len), scratch(len);
        for (std::size_t i = 0; i < len; ++i)
          keys[i] = (next() % range + (range == 1 ? 5 : 0)) << 32 | (ascending ? i : len - i);
        std::vector<std::uint64_t> want = keys;
        std::sort(want.begin(), want.end());
        detail::sort_keys(keys.data(), keys.size(), scratch.data());
        ASSERT_EQ(keys, want) << len << " keys, high words below " << range << ", low words ascending " << ascending;
      }
}

TEST(ParallelBuild, OnDemandBuildMatchesTheReferenceOrderAndTheStoredGraphsTrustedTies) {
  // The build's shortcuts against plain constructions, on platforms whose age
  // buckets hold hundreds of members (the radix sort's path) and whose rows
  // of family and coach ties are short (sorted where they lie, not scattered
  // twice):
  //  - the community order is the reference sort's (community_order);
  //  - with graph.on_demand the stored rows are exactly the trusted ties of
  //    the graph stored in full from the same draws (family and coach ties
  //    come from the same keys and community positions in both);
  //  - every such tie joins a minor to an adult of at least 21 (coach ties
  //    take a minor from the community positions below the first adult's).
  ScenarioSpec spec = ecosystem(20.0);
  spec.graph.on_demand = true;
  const detail::State lazy = test::fresh_structure(spec, 23, 2);
  spec.graph.on_demand = false;
  const detail::State full = test::fresh_structure(spec, 23, 2);
  for (std::size_t p = 0; p < lazy.platforms.size(); ++p) {
    const detail::PlatformState& L = lazy.platforms[p];
    const detail::PlatformState& F = full.platforms[p];
    const auto n = static_cast<std::uint32_t>(L.user.size());
    ASSERT_EQ(F.user, L.user);
    std::vector<detail::CommunityKey> keys(n);
    for (std::uint32_t k = 0; k < n; ++k)
      keys[k] = detail::community_key(
          lazy.pop.age[L.user[k]],
          rng::Draw(lazy.seed, streams::graph_community, L.user[k], static_cast<std::uint32_t>(p)).u32(), k);
    ASSERT_EQ(L.graph.arrays->order, detail::community_order(keys)) << "platform " << p;
    std::size_t ties = 0;
    for (std::uint32_t v = 0; v < n; ++v) {
      std::vector<std::uint32_t> trusted;
      for (std::uint32_t e = F.graph.offsets[v]; e < F.graph.offsets[v + 1]; ++e)
        if (F.graph.trusted(e)) trusted.push_back(F.graph.targets[e]);
      const auto stored = L.graph.targets.subspan(L.graph.offsets[v], L.graph.degree(v));
      ASSERT_EQ(std::vector<std::uint32_t>(stored.begin(), stored.end()), trusted) << "platform " << p << " row " << v;
      for (std::uint32_t e = L.graph.offsets[v]; e < L.graph.offsets[v + 1]; ++e) {
        ASSERT_TRUE(L.graph.trusted(e)) << "platform " << p << " row " << v;
        const int a = lazy.pop.age[L.user[v]], b = lazy.pop.age[L.user[L.graph.targets[e]]];
        ASSERT_TRUE((a < 18 && b >= 21) || (b < 18 && a >= 21)) << "platform " << p << ": ages " << a << ", " << b;
      }
      ties += stored.size();
    }
    if (p == 0) {
      ASSERT_GT(ties, static_cast<std::size_t>(n) / 4);  // the large platform's rows are not trivial
    }
  }
}

TEST(ParallelBuild, APlatformWithoutMembersBuildsAnEmptyGraphAndRuns) {
  // A platform with user_share 0 (found by scripts/fuzz through fuzz_engine:
  // the freeze handed memmove the null pointer of its empty rows, which the
  // sanitizer builds stop on). Stored and generated peer ties, 1 and 2 threads.
  for (bool on_demand : {false, true}) {
    ScenarioSpec spec = test::small(3000, 10);
    spec.graph.on_demand = on_demand;
    PlatformSpec empty = spec.platforms[0];
    empty.name = "empty";
    empty.user_share = 0.0;
    spec.platforms.push_back(empty);
    for (int threads : {1, 2}) {
      const detail::State s = test::fresh_structure(spec, 7, threads);
      const detail::PlatformState& E = s.platforms.back();
      ASSERT_TRUE(E.user.empty());
      ASSERT_EQ(E.graph.offsets.size(), 1u);
      EXPECT_TRUE(E.graph.targets.empty());
      EXPECT_FALSE(s.platforms[0].graph.targets.empty());
      clear_structure_cache();
      const RunOutput out = run(spec, 7, threads);
      EXPECT_EQ(out.total(Metric::users, 2), 0.0) << "on_demand " << on_demand << ", " << threads << " threads";
      EXPECT_GT(out.total(Metric::users, 1), 0.0);
    }
  }
}

TEST(ParallelBuild, RunOutputsAreIdenticalAtOneTwoAndFourThreads) {
  const ScenarioSpec spec = ecosystem(20.0);
  clear_structure_cache();
  const std::uint64_t want = output_hash(run(spec, 5, 1));
  for (int threads : {2, 4}) {
    clear_structure_cache();
    EXPECT_EQ(output_hash(run(spec, 5, threads)), want) << threads << " build threads";
  }
  // run_many hands threads left over (fewer seeds than threads) to the build.
  clear_structure_cache();
  const std::vector<std::uint64_t> seeds{5};
  EXPECT_EQ(output_hash(run_many(spec, seeds, 4)[0]), want);
}

TEST(ParallelBuild, WarmupEndGivesTheOneThreadRun) {
  // At the end of the warm-up every platform's strangers' order is drawn
  // afresh, side by side on the run's threads (start_measurement); the
  // warm-up's days count into one day of rows, cleared each day. The same
  // output at 2 and 4 threads as on one, and the warm-up changes it.
  ScenarioSpec spec = ecosystem(20.0);
  spec.warmup_days = 15;
  clear_structure_cache();
  const RunOutput single = run(spec, 9, 1);
  const std::uint64_t want = output_hash(single);
  for (int threads : {2, 4}) {
    clear_structure_cache();
    EXPECT_EQ(output_hash(run(spec, 9, threads)), want) << threads << " threads";
  }
  EXPECT_EQ(single.days, spec.horizon_days);
  EXPECT_GT(single.total(Metric::minors_accepted_stranger), 100);
  spec.warmup_days = 0;
  clear_structure_cache();
  EXPECT_NE(output_hash(run(spec, 9, 1)), want);
}

TEST(ParallelBuild, BenignBackgroundSideBySideGivesTheOneThreadRun) {
  // The benign background runs platforms side by side on the run's threads
  // when a tick has enough users (side_by_side_users); what lies beyond a
  // platform (the ecosystem's and operators' rows, distinct marks over
  // people) is applied afterwards in platform order. Lowered here so this
  // 80,000-user ecosystem takes that path: the same output as one thread.
  ScenarioSpec spec = ecosystem(20.0);
  spec.benign.false_reports_per_1k_users_day = 3;  // non-integer effort sums, whose order shows in the last bits
  OperatorSpec group;                              // one company with two services: its scope's rows and distinct marks
  group.name = "group";
  group.platforms = {1, 3};
  spec.operators.push_back(group);
  clear_structure_cache();
  const std::uint64_t want = output_hash(run(spec, 7, 1));
  const double saved = detail::side_by_side_users;
  detail::side_by_side_users = 0;
  for (int threads : {1, 2, 4}) {
    clear_structure_cache();
    EXPECT_EQ(output_hash(run(spec, 7, threads)), want) << threads << " threads, side by side";
  }
  detail::side_by_side_users = saved;
  // What was kept for later arrived: legitimate contacts blocked and unfounded
  // reports come from the benign background alone, so the ecosystem's and the
  // operator's totals are their platforms' sums, exactly (whole numbers).
  // Minors who accepted a stranger are distinct people: at least the largest
  // platform's count, at most the sum.
  const RunOutput out = run(spec, 7, 2);
  ASSERT_EQ(out.operators.size(), 1u);
  const auto op_total = [&](Metric m) { return out.operator_totals[idx(m)]; };
  for (Metric m : {Metric::legit_contacts_blocked, Metric::unfounded_reports}) {
    double all = 0;
    for (std::size_t p = 0; p < spec.platforms.size(); ++p) all += out.total(m, p + 1);
    EXPECT_GT(all, 0) << kMetrics[idx(m)].name;
    EXPECT_EQ(out.total(m), all) << kMetrics[idx(m)].name;
    EXPECT_EQ(op_total(m), out.total(m, 2) + out.total(m, 4)) << kMetrics[idx(m)].name;
  }
  const Metric accepted = Metric::minors_accepted_stranger;
  EXPECT_GE(op_total(accepted), std::max(out.total(accepted, 2), out.total(accepted, 4)));
  EXPECT_LE(op_total(accepted), out.total(accepted, 2) + out.total(accepted, 4));
  double largest = 0, sum = 0;
  for (std::size_t p = 0; p < spec.platforms.size(); ++p) {
    largest = std::max(largest, out.total(accepted, p + 1));
    sum += out.total(accepted, p + 1);
  }
  EXPECT_GT(largest, 0);
  EXPECT_GE(out.total(accepted), largest);
  EXPECT_LE(out.total(accepted), sum);
}

TEST(ParallelBuild, ContactReadAheadGivesTheOneThreadRun) {
  // With enough active offender accounts (read_ahead_accounts),
  // discover_and_contact reads each tick's discovery ahead on the run's
  // threads and makes the contacts in one serial pass. Lowered here so this
  // ecosystem takes that path, with what makes the read-ahead differ from a
  // single pass if it were wrong: many attempts per account and tick (an
  // account's own dyads and blocks within a tick change its later attempts,
  // which the pass must make afresh), friend suggestions through connected
  // minors with a mutuals filter, and peer ties generated when read (the
  // lists the threads generate are kept aside, then cached).
  ScenarioSpec spec = ecosystem(20.0);
  spec.graph.on_demand = true;
  spec.horizon_days = 40;
  for (OffenderTypeSpec* t : {&spec.offenders.groomer, &spec.offenders.sextortion, &spec.offenders.distributor})
    t->contacts_per_day *= 40;
  for (PlatformSpec& p : spec.platforms) {
    p.controls.network_expansion.mode = NetworkExpansion::mutuals;
    p.controls.network_expansion.mutuals_threshold = 1;
  }
  clear_structure_cache();
  const RunOutput single = run(spec, 11, 1);
  const std::uint64_t want = output_hash(single);
  const std::size_t saved = detail::read_ahead_accounts;
  detail::read_ahead_accounts = 0;
  for (int threads : {2, 4}) {
    clear_structure_cache();
    EXPECT_EQ(output_hash(run(spec, 11, threads)), want) << threads << " threads, read ahead";
  }
  detail::read_ahead_accounts = saved;
  // The run had the events that test it: dyads opened and minors' blocks.
  EXPECT_GT(single.total(Metric::dyads_opened), 100);
  EXPECT_GT(single.total(Metric::minor_blocks), 100);
}

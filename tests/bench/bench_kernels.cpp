// Micro-benchmarks for the engine's hot kernels (docs/performance.md):
// discovery (one candidate draw for an offender account), the dyad step (the
// hazards of an open conversation and the time of its next event) and the
// aggregate detection draws of one tick. They reach into the internal state
// (sim/src/state.hpp), built from the benchmark scenario platform_10k scaled
// to 100,000 users, as a run builds it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "safesim/rng.hpp"
#include "safesim/scenario.hpp"
#include "state.hpp"

namespace {

using namespace safesim;
using namespace safesim::detail;

constexpr std::uint32_t kBenchStream = rng::stream_id("bench.kernels");

/// A built state (population, platforms, graph, offenders), as run() leaves it before day 0.
struct Built {
  ScenarioSpec spec;
  State s;
};

std::unique_ptr<Built> build(const std::vector<std::pair<std::string, std::string>>& overrides) {
  auto b = std::make_unique<Built>();
  LoadOptions opt;
  opt.overrides = overrides;
  opt.overrides.emplace_back("population.users", "100000");
  b->spec = load_scenario(std::string(SAFESIM_BENCH_SCENARIOS) + "/platform_10k.yaml", opt);
  State& s = b->s;
  s.spec = &b->spec;
  s.seed = 1;
  s.dt_hours = b->spec.dt_hours;
  const std::size_t np = b->spec.platforms.size();
  s.metrics.scopes = np + 1;
  s.metrics.days = b->spec.horizon_days;
  s.metrics.daily.assign(s.metrics.scopes * static_cast<std::size_t>(s.metrics.days) * kMetricCount, 0.0);
  s.metrics.ttd_sum.assign(np + 1, 0.0);
  s.metrics.ttd_count.assign(np + 1, 0.0);
  s.returns_by_day.resize(static_cast<std::size_t>(s.metrics.days));
  s.signals_by_day.resize(static_cast<std::size_t>(s.metrics.days));
  s.removal_hours_known.resize(np + 1);
  s.removal_hours_new.resize(np + 1);
  build_population(s);
  build_platforms(s);
  build_graphs(s, 1);
  for (std::size_t p = 0; p < np; ++p) update_detection_risk(s, p);
  build_offenders(s);
  return b;
}

/// Discovery: one candidate per call, over every hunting account in turn.
/// Arg 0: accounts start with no connection (search, public content, groups);
/// arg 1: each holds 5 connected minors (friend suggestions too).
void BM_Discover(benchmark::State& state) {
  auto b = build({});
  State& s = b->s;
  const PlatformState& P = s.platforms[0];
  if (state.range(0) == 1)
    for (std::uint32_t a : s.accounts.active)
      for (std::uint32_t k = 0; k < 5; ++k)
        s.accounts.connections[a].push_back(P.minors[(a * 7919u + k * 104729u) % P.minors.size()]);
  const auto& active = s.accounts.active;
  std::uint32_t t = 0;
  std::size_t i = 0, found = 0;
  for (auto _ : state) {
    rng::Draw d(s.seed, kBenchStream, active[i], t);
    found += discover(s, active[i], d) != kNone;
    if (++i == active.size()) i = 0, ++t;
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Discover)->Arg(0)->Arg(1);

/// Dyad step: hazards of an open conversation at its stage and the draw of its
/// next event time (schedule_dyad), over 10,000 open dyads at every stage.
void BM_DyadSchedule(benchmark::State& state) {
  auto b = build({});
  State& s = b->s;
  Dyads& D = s.dyads;
  const PlatformState& P = s.platforms[0];
  constexpr std::size_t kDyads = 10000;
  for (std::size_t k = 0; k < kDyads; ++k) {
    // One row through the table's own push, so every column (and any added later) gets its value.
    D.push({.account = s.accounts.active[k % s.accounts.active.size()],
            .minor = P.minors[(k * 7919u) % P.minors.size()],
            .platform = 0,
            .stage = static_cast<std::uint8_t>(k % 5),
            .e2ee_u = 0.5f});
  }
  std::size_t i = 0;
  for (auto _ : state) {
    schedule_dyad(s, i);
    if (++i == kDyads) i = 0;
  }
  benchmark::DoNotOptimize(D.next_hour.data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DyadSchedule);

/// Detection draws of one tick: false positives of hash matching, the
/// new-material classifier and grooming detection over the benign volume,
/// drawn in aggregate (Poisson) rather than per benign item.
void BM_BenignDetections(benchmark::State& state) {
  auto b = build({{"platforms.main.controls.new_material_classifier.enabled", "true"},
                  {"platforms.main.controls.grooming_detection.enabled", "true"}});
  State& s = b->s;
  std::uint64_t ticks = 0;
  for (auto _ : state) {
    benign_detections(s);
    ++s.tick;
    if ((++ticks & 4095) == 0) {  // keep the review queue from growing without bound
      state.PauseTiming();
      s.platforms[0].queue_high.items.clear();
      s.clearinghouse_inbox.clear();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BenignDetections);

/// The whole build (population, membership, graph, offenders) at 100,000 users.
void BM_Build100k(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(build({}));
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Build100k)->Unit(benchmark::kMillisecond);

}  // namespace

// Micro-benchmarks for safesim::rng (sim/include/safesim/rng.hpp).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "safesim/rng.hpp"

namespace {

using safesim::rng::Draw;

constexpr std::uint64_t kSeed = 0x5AFE5EED2024ULL;

/// One Philox4x32-10 block (four 32-bit words) per iteration.
void BM_Philox4x32(benchmark::State& state) {
  std::uint32_t i = 0;
  for (auto _ : state) {
    const auto b = safesim::rng::philox4x32(1, i++, 3, 0, 0x5eed, 0xbeef);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Philox4x32);

/// Stateless uniform: one Philox block per value.
void BM_UniformAt(benchmark::State& state) {
  std::uint32_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(safesim::rng::uniform_at(kSeed, 7, i++, 11, 0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UniformAt);

/// Cursor uniform: two words per value, so one Philox block per two values.
void BM_DrawUniform(benchmark::State& state) {
  Draw d(kSeed, 7, 1, 2);
  for (auto _ : state) benchmark::DoNotOptimize(d.uniform());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DrawUniform);

void BM_DrawNormal(benchmark::State& state) {
  Draw d(kSeed, 7, 1, 2);
  for (auto _ : state) benchmark::DoNotOptimize(d.normal());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DrawNormal);

/// Poisson by inversion: sequential search from 0 below mean 12, from a
/// Cornish-Fisher start corrected with the incomplete gamma function above.
void BM_Poisson(benchmark::State& state) {
  const double mean = static_cast<double>(state.range(0));
  Draw d(kSeed, 7, 1, 2);
  for (auto _ : state) benchmark::DoNotOptimize(d.poisson(mean));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Poisson)->Arg(5)->Arg(100);

/// Binomial by inversion: n, p in per mille. (10, 0.3) and (1000, 0.001)
/// search from 0; (1000, 0.5) and (1e6, 0.7) start from Cornish-Fisher,
/// corrected with the incomplete beta function.
void BM_Binomial(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const double p = static_cast<double>(state.range(1)) / 1000.0;
  Draw d(kSeed, 7, 1, 2);
  for (auto _ : state) benchmark::DoNotOptimize(d.binomial(n, p));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Binomial)->Args({10, 300})->Args({1000, 1})->Args({1000, 500})->Args({1000000, 700});

/// One independent cursor per entity, as a per-entity step would use it.
void BM_DrawPerEntityBernoulli(benchmark::State& state) {
  std::uint32_t e = 0;
  for (auto _ : state) {
    Draw d(kSeed, 7, e++, 2);
    benchmark::DoNotOptimize(d.bernoulli(0.1));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DrawPerEntityBernoulli);

}  // namespace

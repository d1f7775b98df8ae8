// Helpers shared by the model tests: a small scenario and paired comparisons
// of two scenarios on common seeds.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "safesim/simulation.hpp"
#include "state.hpp"

namespace safesim::test {

inline ScenarioSpec small(std::int64_t users = 6000, std::int64_t days = 180) {
  ScenarioSpec s = default_scenario();
  s.population.users = users;
  s.horizon_days = days;
  s.graph.mean_degree = 20;
  s.offenders.share_of_adults = 0.01;  // more offenders: more events per run, tighter tests
  // Adult offenders only: each mechanism's test reads the adult-offender metrics
  // (test_peers.cpp turns peers on where they are the subject).
  s.offenders.peer_share = 0.0;
  // A cold start: conservation tests count what happens from an empty state
  // (queues, dyads); test_fidelity.cpp tests the warm-up itself.
  s.warmup_days = 0;
  return s;
}

/// The population, memberships and graphs of `spec` built afresh (the
/// structure cache cleared first, so it is not a copy) on `threads` threads.
inline detail::State fresh_structure(const ScenarioSpec& spec, std::uint64_t seed, int threads) {
  detail::clear_cache();
  detail::State s;
  s.spec = &spec;
  s.seed = seed;
  s.threads = threads;
  detail::build_structure(s);
  return s;
}

inline std::vector<std::uint64_t> seeds(int n) {
  std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 100);
  return v;
}

struct Paired {
  double mean = 0, half_width = 0;  // mean paired difference B - A and its 95% half-width
};

/// Paired difference of a metric between two scenarios run on the same seeds.
inline Paired paired(const ScenarioSpec& a, const ScenarioSpec& b, Metric m, int n = 12) {
  const auto sd = seeds(n);
  const auto ra = run_many(a, sd, 2);
  const auto rb = run_many(b, sd, 2);
  std::vector<double> d;
  for (std::size_t i = 0; i < sd.size(); ++i) d.push_back(rb[i].total(m) - ra[i].total(m));
  Paired p;
  p.mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double x : d) ss += (x - p.mean) * (x - p.mean);
  const double se = std::sqrt(ss / (n - 1) / n);
  p.half_width = 2.2 * se;  // t(0.975, 11) = 2.20
  return p;
}

}  // namespace safesim::test

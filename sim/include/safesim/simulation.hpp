// safesim: running a scenario. The spec is immutable; a run owns all state.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "safesim/metrics.hpp"
#include "safesim/spec.hpp"

namespace safesim {

/// population.ageing's cohort table (RunOutput::cohort), [age 0..17][column]:
/// row a counts the cohort members (children who joined at youngest_age in the
/// measured horizon, with an account) observed to the end of age a, that is
/// who had their (a + 1)th birthday in the run, and of them how many had each
/// outcome by then (distinct minors, over all platforms).
inline constexpr std::array<std::string_view, 11> kCohortColumns = {
    "members",   "contacted",   "engaged",           "solicited", "exploited", "images_obtained",
    "sextorted", "met_offline", "accepted_stranger", "blocking",  "reporting"};
inline constexpr std::size_t kCohortAges = 18;

/// Outputs of one run. Scope 0 is the whole ecosystem, scope 1 + p is
/// platform p (in ScenarioSpec::platforms order).
struct RunOutput {
  std::vector<std::string> platforms;  ///< platform names
  std::int64_t days = 0;
  std::uint64_t seed = 0;
  std::vector<double> totals;  ///< [scope][metric], (platforms + 1) x kMetricCount
  std::vector<double> daily;   ///< [scope][day][metric], (platforms + 1) x days x kMetricCount
  /// Minor-level metrics by group (kGroupMetrics), [scope][group][slot]:
  /// scopes x kGroupCount x kGroupMetricCount; groups are age x gender.
  std::vector<double> group_totals;
  /// Minors with an account (not removed) at day 0 per [scope][group]: the groups' denominators.
  std::vector<double> group_minors;
  /// Declared operators (ScenarioSpec::operators order): names, and per
  /// operator its metrics as for a platform, [operator][metric] and
  /// [operator][day][metric]. Empty when the scenario declares none (every
  /// platform is then its own operator, with its platform figures).
  std::vector<std::string> operators;
  std::vector<double> operator_totals;
  std::vector<double> operator_daily;
  /// population.ageing: kCohortAges x kCohortColumns (see kCohortColumns); empty when off.
  std::vector<double> cohort;
  double build_seconds = 0;  ///< population and graph build (wall clock)
  double run_seconds = 0;    ///< whole run incl. build (wall clock)

  std::size_t scopes() const { return platforms.size() + 1; }
  double total(Metric m, std::size_t scope = 0) const { return totals[scope * kMetricCount + idx(m)]; }
  double day_value(Metric m, std::int64_t day, std::size_t scope = 0) const {
    return daily[(scope * static_cast<std::size_t>(days) + static_cast<std::size_t>(day)) * kMetricCount + idx(m)];
  }
};

/// Run one replicate with the given seed (the spec's own seed is not used).
RunOutput run(const ScenarioSpec& spec, std::uint64_t seed);
/// The same, with the graphs built on `threads` threads (the same result at
/// any thread count: only the build's wall time differs).
RunOutput run(const ScenarioSpec& spec, std::uint64_t seed, int threads);

/// Run one replicate per seed on `threads` threads. Results are in seed order
/// and identical whatever the thread count. With fewer seeds than threads,
/// each run builds its graphs on threads / seeds threads.
std::vector<RunOutput> run_many(const ScenarioSpec& spec, std::span<const std::uint64_t> seeds, int threads);

/// Forget the per-process cache of built populations and graphs (runs with the
/// same seed and structure reuse them; results are the same either way).
void clear_structure_cache();

/// FNV-1a hash over totals and daily series (and the operators' when declared,
/// and the age and gender groups):
/// a fingerprint for determinism tests.
std::uint64_t output_hash(const RunOutput& out);

}  // namespace safesim

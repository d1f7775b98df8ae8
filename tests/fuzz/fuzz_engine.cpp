// safesim: libFuzzer target that runs the engine on what loads.
//
// Each input is loaded as fuzz_scenario.cpp does (same confinement: the
// input is named <repo>/scenarios/fuzz-input.yaml and inputs whose
// `extends:` leaves scenarios/ are skipped), with two overrides that keep a
// run to milliseconds: horizon_days 3 and population.users 600 (the seeds are
// the repository's scenarios, far larger). A scenario that loads, has at most
// 8 platforms and builds its graph from the generator (a `graph.edge_list`
// would read a file of the fuzzer's choosing) is run twice on seed 1. At exit
// the harness prints how many inputs reached the engine. Findings:
//   1. anything but ScenarioError escaping the loader;
//   2. any exception, crash, sanitizer report, hang or out-of-memory in run();
//   3. an infinite value, a non-finite or negative flow or level (a derived
//      metric may be NaN: undefined, 0/0), or an output of the wrong size;
//   4. two runs of the same spec and seed that differ (output_hash).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include <yaml-cpp/yaml.h>

#include "confined.hpp"
#include "safesim/metrics.hpp"
#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"

namespace fs = std::filesystem;

namespace {

fs::path g_base;
std::string g_name;
safesim::LoadOptions g_options;
safesim::LoadOptions g_short;  // g_options with horizon_days: 3

constexpr std::size_t kMaxPlatforms = 8;
unsigned long long g_engine_runs = 0;

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz_engine== FINDING: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

void check_output(const safesim::RunOutput& out, const safesim::ScenarioSpec& spec) {
  const std::size_t scopes = spec.platforms.size() + 1;
  if (out.totals.size() != scopes * safesim::kMetricCount)
    finding("totals of the wrong size", std::to_string(out.totals.size()));
  if (out.daily.size() != scopes * static_cast<std::size_t>(out.days) * safesim::kMetricCount)
    finding("daily outputs of the wrong size", std::to_string(out.daily.size()));
  // Flows and levels are finite counts; a derived metric (a mean or share) is
  // NaN where it is undefined (no events: 0/0), never infinite.
  auto check = [&](double v, std::size_t k, const char* where) {
    const bool derived = safesim::kMetrics[k].kind == safesim::MetricKind::derived;
    if (std::isinf(v) || (!derived && !std::isfinite(v)))
      finding(where, std::string(safesim::kMetrics[k].name) + " = " + std::to_string(v) + "\n--- scenario:\n" +
                         safesim::dump_scenario(spec));
    if (!derived && v < 0)
      finding("a negative flow or level", std::string(safesim::kMetrics[k].name) + " = " + std::to_string(v) +
                                              "\n--- scenario:\n" + safesim::dump_scenario(spec));
  };
  for (std::size_t i = 0; i < out.totals.size(); ++i)
    check(out.totals[i], i % safesim::kMetricCount, "a non-finite total");
  for (std::size_t i = 0; i < out.daily.size(); ++i)
    check(out.daily[i], i % safesim::kMetricCount, "a non-finite daily value");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_base = safesim::fuzz::scenarios_base("fuzz_engine", SAFESIM_SOURCE_DIR);
  g_name = (g_base / "fuzz-input.yaml").string();
  g_options.policy_dirs = {(g_base / "policies").string()};
  g_short = g_options;
  g_short.overrides = {{"horizon_days", "3"}, {"population.users", "600"}};
  std::atexit([] { std::fprintf(stderr, "fuzz_engine: %llu input(s) ran the engine\n", g_engine_runs); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!safesim::fuzz::input_is_confined(g_base, text)) return -1;

  safesim::ScenarioSpec spec;
  try {
    spec = safesim::load_scenario_text(text, g_name, g_short);
  } catch (const safesim::ScenarioError&) {
    return 0;
  } catch (const std::exception& e) {
    finding("non-ScenarioError exception escaped load_scenario_text", e.what());
  } catch (...) {
    finding("unknown exception escaped load_scenario_text", "");
  }
  if (spec.platforms.size() > kMaxPlatforms || !spec.graph.edge_list.empty())
    return 0;  // too slow to run per input, or reads a file: loaded only
  ++g_engine_runs;

  safesim::RunOutput a, b;
  try {
    a = safesim::run(spec, 1);
    b = safesim::run(spec, 1);
  } catch (const std::exception& e) {
    finding("run() threw", std::string(e.what()) + "\n--- scenario:\n" + safesim::dump_scenario(spec));
  } catch (...) {
    finding("run() threw a non-standard exception", safesim::dump_scenario(spec));
  }
  check_output(a, spec);
  if (safesim::output_hash(a) != safesim::output_hash(b))
    finding("two runs of the same spec and seed differ", safesim::dump_scenario(spec));
  return 0;
}

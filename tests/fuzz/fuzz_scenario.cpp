// safesim: libFuzzer target for scenario loading and validation.
//
// Properties checked on every input:
//   1. load_scenario_text either returns a spec or throws ScenarioError.
//      Anything else (another exception, a crash, a sanitizer report, a hang,
//      running out of memory) is a finding.
//   2. The memory guard held: a spec that loads fits in this machine's memory
//      by estimate_memory_bytes (a huge `users` is refused at load time, and
//      nothing the loader allocates grows with `users`).
//   3. Round trip: dump_scenario of the spec loads again, and dumps to the
//      same text (leading comment lines aside, as in test_scenario.cpp), for
//      specs of at most kRoundTripMaxPlatforms platforms.
//
// Confinement. The input is loaded under the name <repo>/scenarios/
// fuzz-input.yaml, so `extends: baseline.yaml` and the bundles in
// scenarios/policies/ resolve and the fuzzer can reach the extends and policy
// code. Bundle names are checked by the loader itself (letters, digits, '_',
// '-'), but `extends:` takes any path, so before loading, the harness parses
// the input with yaml-cpp (the same library and version the loader uses, so
// it sees the same top-level keys) and skips inputs whose `extends:` is
// absolute, climbs with '..', or leaves scenarios/ by a symlink. Parents
// inside scenarios/ are repository files, whose own extends stay inside. The
// loader writes nothing. (This file includes yaml-cpp for that check only;
// the library keeps its single yaml-cpp translation unit, STYLE.md habit 6.)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <new>
#include <string>

#include <yaml-cpp/yaml.h>

#include "confined.hpp"
#include "safesim/memory_estimate.hpp"
#include "safesim/scenario.hpp"

namespace fs = std::filesystem;

namespace {

fs::path g_base;     // canonical <repo>/scenarios
std::string g_name;  // the name the input is loaded under
constexpr std::size_t kRoundTripMaxPlatforms = 64;
safesim::LoadOptions g_options;

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz_scenario== FINDING: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();  // libFuzzer saves the input as crash-<sha1>
}

/// A dump without its leading comment lines (source and policies applied).
std::string body(const std::string& dump) {
  std::string out;
  std::size_t pos = 0;
  while (pos < dump.size()) {
    std::size_t end = dump.find('\n', pos);
    if (end == std::string::npos) end = dump.size();
    if (dump[pos] != '#') out.append(dump, pos, end - pos).push_back('\n');
    pos = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_base = safesim::fuzz::scenarios_base("fuzz_scenario", SAFESIM_SOURCE_DIR);
  g_name = (g_base / "fuzz-input.yaml").string();
  g_options.policy_dirs = {(g_base / "policies").string()};
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!safesim::fuzz::input_is_confined(g_base, text)) return -1;  // -1: never added to the corpus

  safesim::ScenarioSpec spec;
  try {
    spec = safesim::load_scenario_text(text, g_name, g_options);
  } catch (const safesim::ScenarioError&) {
    return 0;  // a refused input: the expected outcome for most mutations
  } catch (const std::bad_alloc&) {
    finding("std::bad_alloc escaped load_scenario_text", "");
  } catch (const std::exception& e) {
    finding("non-ScenarioError exception escaped load_scenario_text", e.what());
  } catch (...) {
    finding("unknown exception escaped load_scenario_text", "");
  }

  const std::uint64_t need = safesim::estimate_memory_bytes(spec);
  const std::uint64_t have = safesim::physical_memory_bytes();
  if (have != 0 && need > have)
    finding("memory guard let through a scenario larger than this machine",
            "users=" + std::to_string(spec.population.users) + " estimate=" + std::to_string(need));

  // The round trip costs time in proportion to the dump, which grows with the
  // platform count (about 130 lines a platform): for a 1,500-service ecosystem
  // it is seconds under the sanitizers, past the fuzzing timeout, and it would
  // leave no time to fuzz anything else. Larger scenarios are round-tripped by
  // Scenario.InstalledBundlesAndScenariosLoad (every installed scenario).
  if (spec.platforms.size() > kRoundTripMaxPlatforms) return 0;
  const std::string d1 = safesim::dump_scenario(spec);
  std::string d2;
  try {
    d2 = safesim::dump_scenario(safesim::load_scenario_text(d1, g_name, g_options));
  } catch (const std::exception& e) {
    finding("the dump of a loaded scenario does not load", std::string(e.what()) + "\n--- dump:\n" + d1);
  }
  if (body(d1) != body(d2))
    finding("dump -> load -> dump changed the scenario", "--- first:\n" + d1 + "--- second:\n" + d2);
  return 0;
}

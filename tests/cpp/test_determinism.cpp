// Determinism across build types: the golden run hashes in tests/golden/
// were written by the Release build (the Python wheel, `safesim golden
// --update`); this test recomputes them in whatever build runs it (Debug,
// ASan+UBSan, TSan) with 1 and 4 threads. Same scenario + seed + toolchain
// must give bit-identical outputs whatever the build type or thread count.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"

using namespace safesim;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// seed -> 16-digit hex hash, from the "run_hashes" object of a golden file.
std::map<std::uint64_t, std::string> golden_hashes(const std::string& json) {
  std::map<std::uint64_t, std::string> out;
  const auto start = json.find("\"run_hashes\"");
  if (start == std::string::npos) return out;
  const auto end = json.find('}', start);
  const std::string block = json.substr(start, end - start);
  const std::regex entry("\"([0-9]+)\"\\s*:\\s*\"([0-9a-f]{16})\"");
  for (auto it = std::sregex_iterator(block.begin(), block.end(), entry); it != std::sregex_iterator(); ++it)
    out[std::stoull((*it)[1].str())] = (*it)[2].str();
  return out;
}

std::string hex(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

TEST(Determinism, GoldenHashesHoldInThisBuildAndAnyThreadCount) {
  const std::string root = SAFESIM_SOURCE_DIR;
  const auto want = golden_hashes(read(root + "/tests/golden/baseline.json"));
  ASSERT_FALSE(want.empty()) << "tests/golden/baseline.json has no run_hashes (safesim golden --update)";
  LoadOptions o;
  o.policy_dirs.push_back(root + "/scenarios/policies");
  o.overrides.push_back({"population.users", "5000"});
  const ScenarioSpec spec = load_scenario(root + "/scenarios/baseline.yaml", o);
  std::vector<std::uint64_t> seeds;
  for (const auto& [seed, _] : want) seeds.push_back(seed);
  for (int threads : {1, 4}) {
    const auto outs = run_many(spec, seeds, threads);
    for (std::size_t i = 0; i < seeds.size(); ++i)
      EXPECT_EQ(hex(output_hash(outs[i])), want.at(seeds[i]))
          << "seed " << seeds[i] << " with " << threads << " threads differs from the golden (Release) hash; "
          << "if the engine changed on purpose, run `safesim golden --update` and review the diff";
  }
}

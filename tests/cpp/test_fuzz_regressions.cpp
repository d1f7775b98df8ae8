// Replays every input in tests/data/fuzz_regressions/ (found by scripts/fuzz,
// or written by hand for a bug of the same family) through the loader with
// the properties tests/fuzz/fuzz_scenario.cpp checks: load_scenario_text
// returns or throws ScenarioError, nothing else; a loaded spec passed the
// memory guard; its dump loads back to the same dump. Each file also has a
// time bound: a hang fails the suite instead of stalling CI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "safesim/memory_estimate.hpp"
#include "safesim/scenario.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace safesim;

namespace {

const fs::path kRoot = SAFESIM_SOURCE_DIR;
const fs::path kRegressions = kRoot / "tests" / "data" / "fuzz_regressions";

/// Generous for Debug and ASan builds, which run 5 to 20 times slower than
/// the fuzzer's optimised build (where libFuzzer's own limit is 10 s); every
/// input in the folder takes well under a second.
constexpr auto kTimeBound = std::chrono::seconds(30);

std::vector<std::string> regression_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kRegressions, ec))
    if (e.is_regular_file() && e.path().extension() != ".md") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

using safesim::test::body;
using safesim::test::read_text;

/// The fuzz harness's checks on one input; "" when they hold, else what failed.
std::string check(const std::string& text) {
  // The same name and policy folder as the harness, so `extends:` and bundle
  // names resolve the same way.
  const std::string name = (kRoot / "scenarios" / "fuzz-input.yaml").string();
  LoadOptions options;
  options.policy_dirs = {(kRoot / "scenarios" / "policies").string()};
  ScenarioSpec spec;
  try {
    spec = load_scenario_text(text, name, options);
  } catch (const ScenarioError&) {
    return "";
  } catch (const std::bad_alloc&) {
    return "std::bad_alloc escaped load_scenario_text";
  } catch (const std::exception& e) {
    return std::string("a non-ScenarioError exception escaped load_scenario_text: ") + e.what();
  } catch (...) {
    return "an unknown exception escaped load_scenario_text";
  }
  const std::uint64_t have = physical_memory_bytes();
  if (have != 0 && estimate_memory_bytes(spec) > have)
    return "the memory guard let through a scenario larger than this machine";
  const std::string d1 = dump_scenario(spec);
  std::string d2;
  try {
    d2 = dump_scenario(load_scenario_text(d1, name, options));
  } catch (const std::exception& e) {
    return std::string("the dump of the loaded scenario does not load: ") + e.what();
  }
  if (body(d1) != body(d2)) return "dump -> load -> dump changed the scenario:\n" + d1 + "---\n" + d2;
  return "";
}

class FuzzRegression : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(FuzzRegression, LoadsOrFailsWithScenarioError) {
  const std::string text = read_text(kRegressions / GetParam());
  // On a thread, so a hang is reported rather than waited for. The thread
  // owns what it uses; if it never finishes, the process exits below.
  auto task = std::make_shared<std::packaged_task<std::string()>>([text] { return check(text); });
  auto result = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  const auto start = std::chrono::steady_clock::now();
  if (result.wait_for(kTimeBound) != std::future_status::ready) {
    std::fprintf(stderr, "FuzzRegression: %s did not finish within %lld s (a hang); exiting\n", GetParam().c_str(),
                 static_cast<long long>(kTimeBound.count()));
    std::fflush(stderr);
    std::_Exit(1);  // a thread stuck in the loader cannot be stopped
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(result.get(), "") << GetParam();
  RecordProperty("seconds", std::to_string(seconds));
}

INSTANTIATE_TEST_SUITE_P(Files, FuzzRegression, ::testing::ValuesIn(regression_files()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(FuzzRegressions, FolderIsNotEmpty) {
  // An empty list would silently instantiate no tests (a wrong path, say).
  EXPECT_FALSE(regression_files().empty()) << kRegressions;
}

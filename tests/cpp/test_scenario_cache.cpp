// Tests of the loader's per-thread cache of prepared resolutions (resolve() in
// sim/src/scenario_yaml.cpp): a file and its extends chain are parsed and
// resolved once per thread, and each load applies its own overrides and extra
// policies to a copy. A load through the cache must equal a load on a thread
// that has never seen the file, and must see every change to the files it
// depends on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "safesim/scenario.hpp"

namespace fs = std::filesystem;
using namespace safesim;

namespace {

const fs::path kRoot = SAFESIM_SOURCE_DIR;

/// `fn` on a new thread, whose cache is empty: the reference for a cached load.
std::string on_fresh_thread(const std::function<std::string()>& fn) {
  std::string out;
  std::thread t([&] {
    try {
      out = fn();
    } catch (const ScenarioError& e) {
      out = std::string("error: ") + e.what();
    }
  });
  t.join();
  return out;
}

std::string dump_of(const std::string& path, const LoadOptions& opt) { return dump_scenario(load_scenario(path, opt)); }

std::string error_of(const std::string& path, const LoadOptions& opt) {
  try {
    load_scenario(path, opt);
  } catch (const ScenarioError& e) {
    return std::string("error: ") + e.what();
  }
  return "(no error)";
}

struct Folder {
  fs::path dir;
  explicit Folder(const std::string& tag) {
    dir = fs::temp_directory_path() / ("safesim_cache_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "policies");
    fs::create_directories(dir / "more");
  }
  ~Folder() { fs::remove_all(dir); }
  void write(const std::string& rel, const std::string& text) const { std::ofstream(dir / rel) << text; }
  std::string path(const std::string& rel) const { return (dir / rel).string(); }
};

const char* kBundle = R"(bundle: teen
as_of: 2026-12-01
measures:
  - id: dm
    text: "t"
    source: "s"
    status: in_force
    since: 2025-03-17
    platform: {controls: {dm_policy: {under_16: %s}}}
)";

std::string bundle(const std::string& dm) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kBundle, dm.c_str());
  return buf;
}

}  // namespace

TEST(ScenarioCache, OverridesOnAPreparedFileEqualFreshLoads) {
  // A shipped scenario with an extends chain and policies, loaded with one set of
  // overrides after another, as a sweep does.
  const std::string path = (kRoot / "scenarios" / "bench" / "platform_10k.yaml").string();
  LoadOptions opt;
  opt.policy_dirs = {(kRoot / "scenarios" / "policies").string()};
  for (const char* steps : {"1", "5", "9", "5"}) {
    LoadOptions o = opt;
    o.overrides = {{"platforms.main.controls.reporting.steps", steps}, {"population.users", "3000"}};
    const std::string cached = dump_of(path, o);
    EXPECT_EQ(cached, on_fresh_thread([&] { return dump_of(path, o); })) << "steps " << steps;
    EXPECT_NE(cached.find("steps: " + std::string(steps)), std::string::npos);
  }
  // Extra policies after the overrides, and no overrides at all.
  LoadOptions with_policy = opt;
  with_policy.extra_policies = {"industry_teen_accounts"};
  EXPECT_EQ(dump_of(path, with_policy), on_fresh_thread([&] { return dump_of(path, with_policy); }));
  EXPECT_EQ(dump_of(path, opt), on_fresh_thread([&] { return dump_of(path, opt); }));
}

TEST(ScenarioCache, AnErrorInTheOverridesIsTheSameAsOnAFreshLoad) {
  const std::string path = (kRoot / "scenarios" / "bench" / "platform_10k.yaml").string();
  LoadOptions good, bad;
  good.policy_dirs = bad.policy_dirs = {(kRoot / "scenarios" / "policies").string()};
  bad.overrides = {{"platforms.main.controls.reporting.stepz", "3"}};
  load_scenario(path, good);  // prepared and kept
  const std::string err = error_of(path, bad);
  EXPECT_NE(err.find("stepz"), std::string::npos) << err;
  EXPECT_EQ(err, on_fresh_thread([&] { return error_of(path, bad); }));
}

TEST(ScenarioCache, AnEditedParentIsReadAgain) {
  Folder f("parent");
  f.write("parent.yaml", "population: {users: 2000}\nhorizon_days: 30\n");
  f.write("child.yaml", "extends: parent.yaml\nseed: 4\n");
  EXPECT_EQ(load_scenario(f.path("child.yaml")).population.users, 2000);
  f.write("parent.yaml", "population: {users: 3000}\nhorizon_days: 30\n");
  EXPECT_EQ(load_scenario(f.path("child.yaml")).population.users, 3000);
  fs::remove(f.dir / "parent.yaml");
  EXPECT_NE(error_of(f.path("child.yaml"), {}).find("cannot open scenario file"), std::string::npos);
}

TEST(ScenarioCache, AnEditedBundleAndABundleThatAppearsEarlierInTheSearchAreSeen) {
  Folder f("bundle");
  // The scenario's own policies/ folder is searched before --policy-dir folders.
  f.write("more/teen.yaml", bundle("connected_only"));
  f.write("s.yaml", "population: {users: 2000}\nhorizon_days: 30\npolicies: [teen]\n");
  LoadOptions opt;
  opt.policy_dirs = {(f.dir / "more").string()};
  const auto dm = [&] { return load_scenario(f.path("s.yaml"), opt).platforms.at(0).controls.dm_policy.under_16; };
  EXPECT_EQ(dm(), DmPolicy::connected_only);
  f.write("more/teen.yaml", bundle("disabled"));
  EXPECT_EQ(dm(), DmPolicy::disabled);
  f.write("policies/teen.yaml", bundle("confirm_before_view"));  // now found first
  EXPECT_EQ(dm(), DmPolicy::confirm_before_view);
}

TEST(ScenarioCache, TheSameTextUnderAnotherNameOrFolderIsResolvedForIt) {
  Folder f("names");
  const std::string text = "population: {users: 2000}\nhorizon_days: 30\nplatforms: {main: {}}\n";
  const ScenarioSpec a = load_scenario_text(text, f.path("a.yaml"));
  const ScenarioSpec b = load_scenario_text(text, f.path("b.yaml"));
  EXPECT_EQ(a.source_file, f.path("a.yaml"));
  EXPECT_EQ(b.source_file, f.path("b.yaml"));
}

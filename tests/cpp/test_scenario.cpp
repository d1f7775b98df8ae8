// Tests of the scenario loader: resolution (extends, policies, overrides,
// timeline), validation messages (the tests/data/bad corpus), the dump round
// trip and the generated parameter dictionary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "safesim/memory_estimate.hpp"
#include "safesim/scenario.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace safesim;

namespace {

const fs::path kRoot = SAFESIM_SOURCE_DIR;
const fs::path kGood = kRoot / "tests" / "data" / "scenarios";
const fs::path kBad = kRoot / "tests" / "data" / "bad";

using safesim::test::body;
using safesim::test::read_text;

std::string error_of(const std::string& text, const std::string& name = "mem.yaml", const LoadOptions& opt = {}) {
  try {
    load_scenario_text(text, name, opt);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "(no error)";
}

const PlatformSpec& platform(const ScenarioSpec& s, const std::string& name) {
  for (const auto& p : s.platforms)
    if (p.name == name) return p;
  throw std::runtime_error("no platform " + name);
}

}  // namespace

// ---------------------------------------------------------------- defaults and basics
TEST(Scenario, MinimalFileGivesDefaultsAndOnePlatformMain) {
  const ScenarioSpec s = load_scenario((kGood / "minimal.yaml").string());
  ASSERT_EQ(s.platforms.size(), 1u);
  EXPECT_EQ(s.platforms[0].name, "main");
  EXPECT_EQ(s.name, "minimal");
  EXPECT_TRUE(s.timeline.empty());
  EXPECT_TRUE(s.policies.empty());
  EXPECT_EQ(s.source_file, (kGood / "minimal.yaml").string());
  ScenarioSpec d = default_scenario();
  d.name = "minimal";
  EXPECT_EQ(body(dump_scenario(s)), body(dump_scenario(d)));
}

TEST(Scenario, ErrorFieldsAndOneLineFormat) {
  try {
    load_scenario_text("name: x\npopulation:\n  users: lots\n", "dir/x.yaml");
    FAIL() << "expected an error";
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.file(), "dir/x.yaml");
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 10);
    EXPECT_EQ(e.key_path(), "population.users");
    EXPECT_EQ(std::string(e.what()),
              "dir/x.yaml:3:10: population.users: expected a count (a non-negative whole number), got 'lots'");
  }
}

TEST(Scenario, MissingFile) {
  try {
    load_scenario("no/such/file.yaml");
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_EQ(std::string(e.what()), "no/such/file.yaml: cannot open scenario file 'no/such/file.yaml'");
  }
}

TEST(Scenario, NumberForms) {
  const auto s = load_scenario_text("population: {users: 1e4, minor_share: .25}\nseed: +3\ndt_hours: 6\n", "m.yaml");
  EXPECT_EQ(s.population.users, 10000);
  EXPECT_EQ(s.population.minor_share, 0.25);
  EXPECT_EQ(s.seed, 3);
  EXPECT_EQ(s.dt_hours, 6.0);
  // Whole doubles are accepted for counts, fractions are not.
  EXPECT_NE(error_of("population: {users: 2.5e3}").find("(no error)"), std::string::npos);
  EXPECT_NE(error_of("population: {users: 2.5e-3}").find("expected a count"), std::string::npos);
}

TEST(Scenario, DottedKeysEqualNestedKeys) {
  const auto a = load_scenario_text("platforms: {main: {controls.dm_policy.under_16: disabled}}", "a.yaml");
  const auto b = load_scenario_text("platforms: {main: {controls: {dm_policy: {under_16: disabled}}}}", "a.yaml");
  EXPECT_EQ(a.platforms[0].controls.dm_policy.under_16, DmPolicy::disabled);
  EXPECT_EQ(body(dump_scenario(a)), body(dump_scenario(b)));
}

TEST(Scenario, ExpectKeyIsAcceptedAndIgnored) {
  EXPECT_EQ(error_of("expect: [{metric: x, whatever: {a: 1}}]"), "(no error)");
}

TEST(Scenario, SuggestionOnlyWhenClose) {
  EXPECT_NE(error_of("graph: {mean_degre: 3}").find("(did you mean 'mean_degree'?)"), std::string::npos);
  EXPECT_EQ(error_of("graph: {colour: 3}").find("did you mean"), std::string::npos);
  // Transpositions count as one edit (Damerau-Levenshtein).
  EXPECT_NE(error_of("graph: {mean_dgeree: 3}").find("(did you mean 'mean_degree'?)"), std::string::npos);
}

// ---------------------------------------------------------------- extends, policies, timeline
TEST(Scenario, ExtendsChainPoliciesAndTimeline) {
  const std::string file = (kGood / "sub" / "child.yaml").string();
  const ScenarioSpec s = load_scenario(file);
  EXPECT_EQ(s.name, "child");
  EXPECT_EQ(s.description, "two platforms, small population");  // inherited
  EXPECT_EQ(s.seed, 7);
  EXPECT_EQ(s.horizon_days, 200);
  EXPECT_EQ(s.population.users, 5000);
  EXPECT_EQ(s.population.minor_share, 0.3);  // child overrides parent
  EXPECT_EQ(s.offenders.groomer.share, 0.5);
  EXPECT_EQ(s.offenders.distributor.share, 0.35);
  // Paths resolve against the folder of the file that wrote them.
  EXPECT_EQ(s.graph.edge_list, fs::absolute(kGood / "edges" / "example.txt").lexically_normal().string());

  // Platform order: inherited first, new names appended.
  ASSERT_EQ(s.platforms.size(), 3u);
  EXPECT_EQ(s.platforms[0].name, "main");
  EXPECT_EQ(s.platforms[1].name, "chat");
  EXPECT_EQ(s.platforms[2].name, "clips");
  const auto& main = s.platforms[0];
  const auto& chat = s.platforms[1];
  const auto& clips = s.platforms[2];
  // Parent platform fields survive; child's block overrides field by field.
  EXPECT_EQ(main.user_share, 0.9);
  EXPECT_EQ(main.controls.dm_policy.under_16, DmPolicy::confirm_before_view);
  EXPECT_EQ(chat.kind, PlatformKind::messaging);
  EXPECT_EQ(chat.controls.review.capacity_per_day, 50.0);
  EXPECT_EQ(clips.kind, PlatformKind::video);
  // platform_defaults of the parent reach platforms added by the child.
  EXPECT_EQ(clips.controls.minimum_age, 14);
  EXPECT_EQ(chat.controls.minimum_age, 14);
  EXPECT_EQ(main.controls.reporting.steps, 4);

  // test_big (parent, applies_to min_users 2000): main has 4500 users, chat 1500.
  EXPECT_TRUE(main.controls.hide_connection_lists);
  EXPECT_FALSE(chat.controls.hide_connection_lists);
  // test_teen (applies_to social and video), child's own policy.
  EXPECT_EQ(main.controls.dm_policy.under_13, DmPolicy::connected_only);
  EXPECT_EQ(clips.controls.dm_policy.under_13, DmPolicy::connected_only);
  EXPECT_EQ(chat.controls.dm_policy.under_13, DmPolicy::requests_inbox);
  EXPECT_EQ(main.controls.private_by_default.age_threshold, 18);
  // test_reporting only on [chat, clips].
  EXPECT_EQ(main.controls.reporting.steps, 4);
  EXPECT_EQ(chat.controls.reporting.steps, 2);
  EXPECT_TRUE(clips.controls.reporting.child_friendly);

  // Timeline: sorted by day (stable), "all" expanded, cumulative per platform.
  ASSERT_EQ(s.timeline.size(), 6u);
  std::vector<std::pair<std::int64_t, std::string>> order;
  for (const auto& e : s.timeline) order.emplace_back(e.day, s.platforms[e.platform].name);
  const std::vector<std::pair<std::int64_t, std::string>> want = {{30, "main"},   {100, "main"}, {100, "chat"},
                                                                  {100, "clips"}, {100, "main"}, {150, "chat"}};
  EXPECT_EQ(order, want);
  const auto& t = s.timeline;
  EXPECT_EQ(t[0].after.controls.dm_policy.under_18, DmPolicy::requests_inbox);
  EXPECT_FALSE(t[0].after.controls.safety_nudges.enabled);
  EXPECT_EQ(t[0].description, "controls.dm_policy.under_18=requests_inbox");
  EXPECT_TRUE(t[1].after.controls.safety_nudges.enabled);
  EXPECT_EQ(t[1].description, "nudges everywhere");
  EXPECT_EQ(t[1].after.controls.dm_policy.under_18, DmPolicy::requests_inbox);  // cumulative
  // day 100 main, second event: the test_strict bundle on top of both earlier events.
  EXPECT_EQ(t[4].after.controls.dm_policy.under_16, DmPolicy::disabled);
  EXPECT_EQ(t[4].after.controls.dm_policy.under_18, DmPolicy::connected_only);
  EXPECT_TRUE(t[4].after.controls.safety_nudges.enabled);
  EXPECT_EQ(t[4].description, "policy test_strict");
  EXPECT_EQ(t[4].after.name, "main");
  // The parent's event on chat keeps the nudges the child turned on at day 100.
  EXPECT_EQ(t[5].after.controls.review.capacity_per_day, 80.0);
  EXPECT_TRUE(t[5].after.controls.safety_nudges.enabled);
  // The initial platforms are not changed by the timeline.
  EXPECT_FALSE(main.controls.safety_nudges.enabled);

  const std::vector<std::string> policies = {"test_big", "test_teen", "test_reporting", "test_strict"};
  EXPECT_EQ(s.policies, policies);
}

TEST(Scenario, BundleBesideRootIsFound) {
  const ScenarioSpec s = load_scenario((kGood / "root_search.yaml").string());
  EXPECT_EQ(s.name, "root_search");
  EXPECT_TRUE(s.platforms[0].controls.hide_connection_lists);  // 10000 users >= 2000
  // Loading the child alone: policies/ beside it has no test_big.
  const std::string err = [&] {
    try {
      load_scenario((kGood / "sub" / "names_big.yaml").string());
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(err.find("unknown policy bundle 'test_big'"), std::string::npos) << err;
}

TEST(Scenario, OverridesAndExtraPolicies) {
  LoadOptions opt;
  opt.overrides = {{"population.users", "20000"},
                   {"platforms.*.controls.dm_policy.under_16", "disabled"},
                   {"platforms.chat.user_share", "0.5"},
                   {"offenders.groomer.share", "0.6"},
                   {"offenders.distributor.share", "0.25"}};  // with sextortion 0.15 from the file
  opt.extra_policies = {"test_extra"};
  opt.policy_dirs = {(kGood / "extra_policies").string()};
  const ScenarioSpec s = load_scenario((kGood / "sub" / "child.yaml").string(), opt);
  EXPECT_EQ(s.population.users, 20000);
  for (const auto& p : s.platforms) {
    EXPECT_EQ(p.controls.dm_policy.under_16, DmPolicy::disabled) << p.name;
    EXPECT_TRUE(p.controls.location_hidden) << p.name;
  }
  EXPECT_EQ(platform(s, "chat").user_share, 0.5);
  EXPECT_EQ(s.policies.back(), "test_strict");  // timeline bundles come last
  EXPECT_NE(std::find(s.policies.begin(), s.policies.end(), "test_extra"), s.policies.end());
  // The timeline starts from the overridden platforms.
  EXPECT_TRUE(s.timeline[0].after.controls.location_hidden);
}

TEST(Scenario, OverrideErrorsNameTheSetFlag) {
  auto err = [](std::vector<std::pair<std::string, std::string>> ov) {
    LoadOptions opt;
    opt.overrides = std::move(ov);
    return error_of("name: x", "x.yaml", opt);
  };
  EXPECT_EQ(err({{"platforms.mian.kind", "video"}}),
            "<--set>: platforms.mian: unknown platform 'mian'; platforms are main (did you mean 'main'?)");
  EXPECT_EQ(err({{"population.minor_share", "2"}}),
            "<--set>: population.minor_share: expected a probability (a number in [0, 1]), got 2");
  EXPECT_EQ(err({{"populaton.users", "5"}}),
            "<--set>: populaton: unknown key 'populaton' (did you mean 'population'?)");
  EXPECT_EQ(err({{"platforms.*.controls.dm_policy.under_16", "closed"}})
                .rfind("<--set>: platforms.main.controls.dm_policy.under_16: unknown choice 'closed'", 0),
            0u);
  // Cross-field checks after overrides point at the override.
  EXPECT_EQ(err({{"offenders.groomer.share", "0.1"}})
                .rfind("<--set>: offenders.groomer.share: offender type shares must sum to 1", 0),
            0u);
}

TEST(Scenario, TextLoaderResolvesRelativeToName) {
  const std::string name = (kGood / "inline.yaml").string();
  const ScenarioSpec s = load_scenario_text("extends: base.yaml\nname: inline\n", name);
  EXPECT_EQ(s.population.users, 5000);
  EXPECT_EQ(s.platforms.size(), 2u);
  EXPECT_EQ(s.source_file, name);
}

// ---------------------------------------------------------------- dump
TEST(Scenario, DumpRoundTripsExactly) {
  LoadOptions opt;
  opt.overrides = {{"response.accept_scale", "0.30000000000000004"},
                   {"benign.family_contacts_per_minor_day", "1e-7"},
                   {"description", R"("quotes \" and \\ and\nnewlines: ok # not a comment")"}};
  const ScenarioSpec s = load_scenario((kGood / "sub" / "child.yaml").string(), opt);
  const std::string d1 = dump_scenario(s);
  EXPECT_EQ(d1.find("\nextends"), std::string::npos);
  EXPECT_EQ(d1.find("\npolicies"), std::string::npos);
  EXPECT_NE(d1.find("# policies applied: test_big, test_teen, test_reporting, test_strict"), std::string::npos);
  // Load the dump from a different folder: it must not depend on relative paths.
  const ScenarioSpec r = load_scenario_text(d1, "/tmp/elsewhere/dump.yaml");
  EXPECT_EQ(r.response.accept_scale, 0.30000000000000004);
  EXPECT_EQ(r.benign.family_contacts_per_minor_day, 1e-7);
  EXPECT_EQ(s.description, "quotes \" and \\ and\nnewlines: ok # not a comment");
  EXPECT_EQ(r.description, s.description);
  EXPECT_EQ(r.graph.edge_list, s.graph.edge_list);
  ASSERT_EQ(r.timeline.size(), s.timeline.size());
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    EXPECT_EQ(r.timeline[i].description, s.timeline[i].description);
    EXPECT_EQ(r.timeline[i].platform, s.timeline[i].platform);
  }
  EXPECT_EQ(body(dump_scenario(r)), body(d1));
  // Doubles are written so that YAML 1.1 readers (PyYAML) also see floats.
  EXPECT_NE(d1.find("dt_hours: 24.0\n"), std::string::npos);
  EXPECT_NE(d1.find("family_contacts_per_minor_day: 1.0e-07\n"), std::string::npos);
}

TEST(Scenario, DumpQuotesWordsYaml11ReadsAsBooleans) {
  const ScenarioSpec s = load_scenario_text(
      "platforms: {main: {}, \"2024\": {}, \"yes\": {}}\n"
      "timeline: [{day: 1, platform: \"yes\", set: {controls.network_expansion.mode: off}}]\n",
      "q.yaml");
  const std::string d = dump_scenario(s);
  EXPECT_NE(d.find("mode: \"on\"\n"), std::string::npos);
  EXPECT_NE(d.find("mode: \"off\"\n"), std::string::npos);
  EXPECT_NE(d.find("\n  \"2024\":\n"), std::string::npos);
  EXPECT_NE(d.find("platform: \"yes\"\n"), std::string::npos);
  EXPECT_EQ(body(dump_scenario(load_scenario_text(d, "q.yaml"))), body(d));
}

TEST(Scenario, DumpOfDefaultsRoundTrips) {
  const ScenarioSpec d = default_scenario();
  const std::string text = dump_scenario(d);
  EXPECT_EQ(body(dump_scenario(load_scenario_text(text, "defaults.yaml"))), body(text));
}

// ---------------------------------------------------------------- bad inputs
/// Every file in tests/data/bad holds `# expect: FRAGMENT` lines (all must be
/// in the error) and optional `# expect-not: FRAGMENT` lines at the top.
TEST(Scenario, BadCorpusGivesExpectedMessages) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(kBad))
    if (f.path().extension() == ".yaml") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 25u);
  LoadOptions opt;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::istringstream in(read_text(f));
    std::vector<std::string> expect, expect_not;
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0)
        expect.push_back(line.substr(10));
      else if (line.rfind("# expect-not: ", 0) == 0)
        expect_not.push_back(line.substr(14));
      else
        break;
    }
    ASSERT_FALSE(expect.empty()) << "no '# expect:' line";
    std::string what;
    try {
      load_scenario(f.string(), opt);
    } catch (const ScenarioError& e) {
      what = e.what();
    }
    ASSERT_FALSE(what.empty()) << "loaded without error";
    std::cout << "  " << what << "\n";
    EXPECT_EQ(what.find('\n'), std::string::npos);
    for (const auto& frag : expect)
      EXPECT_NE(what.find(frag), std::string::npos) << "want: " << frag << "\n got: " << what;
    for (const auto& frag : expect_not)
      EXPECT_EQ(what.find(frag), std::string::npos) << "unwanted: " << frag << "\n got: " << what;
  }
}

TEST(Scenario, BadYamlInMemory) {
  EXPECT_EQ(error_of("a: [1, 2"), error_of("a: [1, 2"));  // deterministic
  EXPECT_NE(error_of("a: [1, 2").find("mem.yaml:"), std::string::npos);
  EXPECT_NE(error_of("").find("mem.yaml: scenario file is empty"), std::string::npos);
  EXPECT_NE(error_of("name: \xff").find("mem.yaml:1:7: scenario file is not valid UTF-8 (byte 0xff)"),
            std::string::npos);
}

// ---------------------------------------------------------------- memory guard
TEST(Scenario, MemoryEstimate) {
  ScenarioSpec s = default_scenario();
  s.population.users = 1'000'000;
  const double per_user = static_cast<double>(estimate_memory_bytes(s)) / 1e6;
  // 12.125 bytes per directed edge at the build's peak (graph.cpp: 4 bytes and a bit frozen, 8 in the
  // largest platform's scatter arrays), mean degree 50.
  EXPECT_GT(per_user, 64 + 12.125 * 50);
  EXPECT_LT(per_user, 2 * (64 + 12.125 * 50));
  EXPECT_GT(physical_memory_bytes(), 0u);
}

// ---------------------------------------------------------------- installed files
TEST(Scenario, InstalledBundlesAndScenariosLoad) {
  const fs::path scen = kRoot / "scenarios";
  LoadOptions base;
  base.policy_dirs = {(scen / "policies").string()};
  if (fs::is_directory(scen / "policies")) {
    for (const auto& f : fs::directory_iterator(scen / "policies")) {
      if (f.path().extension() != ".yaml") continue;
      LoadOptions opt = base;
      opt.extra_policies = {f.path().stem().string()};
      EXPECT_NO_THROW(load_scenario_text("name: bundle_check\n", (scen / "bundle_check.yaml").string(), opt))
          << error_of("name: bundle_check\n", (scen / "bundle_check.yaml").string(), opt);
    }
  }
  int loaded = 0;
  for (const auto& f : fs::directory_iterator(scen)) {
    if (f.path().extension() != ".yaml") continue;
    // Sensitivity and calibration plans live beside the scenarios; a top-level
    // `parameters:` key marks them (no scenario has one), as in Python's
    // installed_scenarios(). They are checked by `safesim validate` instead.
    const std::string text = test::read_text(f.path());
    if (text.rfind("parameters:", 0) == 0 || text.find("\nparameters:") != std::string::npos) continue;
    ++loaded;
    try {
      const ScenarioSpec s = load_scenario(f.path().string(), base);
      // Every installed scenario round-trips through its dump. The fuzz target
      // skips this for inputs of more than a few dozen platforms (ecosystem_us's
      // 1,500-service tail dumps to about 200,000 lines), so it is checked here.
      const std::string d1 = dump_scenario(s);
      EXPECT_EQ(body(dump_scenario(load_scenario_text(d1, (scen / "dump.yaml").string()))), body(d1)) << f.path();
    } catch (const ScenarioError& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GE(loaded, 4) << "baseline, e2ee_rollout, ecosystem_us and risk_assessment at least";
}

// ---------------------------------------------------------------- parameter dictionary
TEST(Scenario, ParameterTableGivesEachKeysBoundsAsData) {
  std::map<std::string, ParameterInfo> by_key;
  for (const auto& p : parameter_table()) EXPECT_TRUE(by_key.emplace(p.key, p).second) << "duplicate " << p.key;
  const auto& share = by_key.at("offenders.share_of_adults");
  EXPECT_EQ(share.kind, "prob");
  EXPECT_EQ(share.lo, 0.0);
  EXPECT_EQ(share.hi, 1.0);
  const auto& steps = by_key.at("platforms.<name>.controls.reporting.steps");  // count narrowed to [1, 100]
  EXPECT_EQ(steps.kind, "count");
  EXPECT_EQ(steps.lo, 1.0);
  EXPECT_EQ(steps.hi, 100.0);
  const auto& dm = by_key.at("platforms.<name>.controls.dm_policy.under_16");
  EXPECT_EQ(dm.kind, "choice");
  EXPECT_TRUE(std::isinf(dm.lo) && std::isinf(dm.hi));
  // Every row of the Markdown dictionary is a key of the table, and back.
  const std::string md = parameter_dictionary_markdown();
  for (const auto& [key, info] : by_key) EXPECT_NE(md.find("| `" + key + "` |"), std::string::npos) << key;
}

TEST(Scenario, ParameterDictionaryCoversEveryKeyAndMetric) {
  const std::string md = parameter_dictionary_markdown();
  for (const char* key : {"`population.users`", "`offenders.sextortion.dwell_hours.engaged`",
                          "`platforms.<name>.controls.dm_policy.under_16`", "`platforms.<name>.kind`", "`dt_hours`",
                          "`age_methods.estimation.sd_years`", "`minors_exploited_per_1k`", "`reporting_effort`"})
    EXPECT_NE(md.find(key), std::string::npos) << key;
  EXPECT_NE(md.find("choice: `open`, `requests_inbox`, `confirm_before_view`, `connected_only`, `disabled`"),
            std::string::npos);
  EXPECT_NE(md.find("count in [1, 2000000000]"), std::string::npos);
}

TEST(Scenario, ReadmeMatchesGeneratedDictionary) {
  const fs::path readme = kRoot / "scenarios" / "README.md";
  // Trailing newlines are ignored: `print()` in the CLI adds one.
  auto trimmed = [](std::string t) {
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  };
  const std::string want = trimmed(parameter_dictionary_markdown());
  const std::string have = trimmed(read_text(readme));
  EXPECT_TRUE(have == want) << readme.string()
                            << " is out of date with the describe() lists in spec.hpp; regenerate it with\n"
                               "  safesim params --markdown > scenarios/README.md";
}

TEST(Scenario, AgeBandsAreCheckedWhenLoaded) {
  EXPECT_EQ(error_of("population: {age_bands: \"9-12,13-15,16-17\"}\n"), "(no error)");
  EXPECT_EQ(error_of("population: {age_bands: \"9-12, 13 - 15,17-17\"}\n"), "(no error)");
  EXPECT_NE(error_of("population: {age_bands: \"9-12,12-15\"}\n").find("overlaps"), std::string::npos);
  EXPECT_NE(error_of("population: {age_bands: \"13-20\"}\n").find("high <= 17"), std::string::npos);
  const std::string e = error_of("population: {age_bands: \"teens\"}\n");
  EXPECT_NE(e.find("mem.yaml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("population.age_bands: age band 'teens': expected LOW-HIGH"), std::string::npos) << e;
}

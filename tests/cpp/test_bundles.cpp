// Tests of policy bundles in the loader: per-measure triggers, legal status and
// law_on dates, measures that wait for the risk assessment, the provenance log,
// and one-line errors for bad bundles (file:line, key path, closest key).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "safesim/scenario.hpp"

namespace fs = std::filesystem;
using namespace safesim;

namespace {

/// A scratch folder with policies/ holding the given bundle text as NAME.yaml.
struct Folder {
  fs::path dir;
  explicit Folder(const std::string& tag) {
    dir = fs::temp_directory_path() / ("safesim_bundles_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "policies");
  }
  ~Folder() { fs::remove_all(dir); }
  void bundle(const std::string& name, const std::string& text) const {
    std::ofstream(dir / "policies" / (name + ".yaml")) << text;
  }
  ScenarioSpec load(const std::string& scenario) const {
    std::ofstream(dir / "s.yaml") << scenario;
    return load_scenario((dir / "s.yaml").string());
  }
  std::string error(const std::string& scenario) const {
    try {
      load(scenario);
    } catch (const ScenarioError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

const char* kLaw = R"(bundle: law
as_of: 2026-12-01
jurisdiction: UK
measures:
  - id: dm-default
    text: "t"
    source: "s"
    status: in_force
    since: 2025-03-17
    applies_to: {kinds: [social]}
    platform: {controls: {dm_policy: {under_16: connected_only}}}
  - id: hash-large
    text: "t"
    source: "s"
    status: in_force
    since: 2025-03-17
    applies_to: [{risk: found, min_users: 700000}, {risk: found, surfaces: [file_sharing]}]
    platform: {controls: {hash_matching: {enabled: true}}}
  - id: later
    text: "t"
    source: "s"
    status: in_force
    since: 2026-04-07
    platform: {controls: {evidence_retention_days: 365}}
  - id: gone
    text: "t"
    source: "s"
    status: lapsed
    since: 2021-08-03
    until: 2026-04-03
    platform: {controls: {location_hidden: true}}
applies_to: {kinds: [social, messaging, file_hosting]}
)";

const std::string kTwo = R"(population: {users: 2000}
platforms:
  main: {kind: social}
  chat: {kind: messaging}
  files: {kind: file_hosting}
)";

bool logged(const ScenarioSpec& s, const std::string& text) {
  for (const auto& l : s.policy_log)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

const PlatformSpec& find(const ScenarioSpec& s, const std::string& name) {
  for (const auto& p : s.platforms)
    if (p.name == name) return p;
  throw std::runtime_error("no platform " + name);
}

}  // namespace

TEST(Bundles, EachMeasureKeepsItsOwnTrigger) {
  Folder f("trigger");
  f.bundle("law", kLaw);
  const ScenarioSpec s = f.load(kTwo + "policies: [law]\n");
  EXPECT_EQ(find(s, "main").controls.dm_policy.under_16, DmPolicy::connected_only);
  EXPECT_NE(find(s, "chat").controls.dm_policy.under_16, DmPolicy::connected_only);  // kinds: [social] only
  // hash-large waits for risk: only file sharing qualifies without 700,000 users, and only in on_risk.
  EXPECT_FALSE(find(s, "files").controls.hash_matching.enabled);
  ASSERT_TRUE(find(s, "files").on_risk);
  EXPECT_TRUE(find(s, "files").on_risk->controls.hash_matching.enabled);
  EXPECT_FALSE(find(s, "main").on_risk);  // 2,000 simulated users < 700,000
  EXPECT_TRUE(logged(s, "hash-large (2000 users < 700000)"));
  EXPECT_TRUE(logged(s, "sizes in simulated users: no jurisdiction_users for UK"));
  EXPECT_TRUE(logged(s, "files: measures waiting for a risk assessment never apply"));
}

TEST(Bundles, JurisdictionUsersScaleSizeTriggers) {
  Folder f("juris");
  f.bundle("law", kLaw);
  const ScenarioSpec s =
      f.load(kTwo + "jurisdiction_users: {UK: 1.0e7}\npolicies: [{bundle: law, risk_found: true}]\n");
  EXPECT_TRUE(find(s, "main").controls.hash_matching.enabled);  // 1e7 x share 1 >= 700,000, risk taken as found
  EXPECT_FALSE(logged(s, "sizes in simulated users"));
}

TEST(Bundles, LawOnADateAppliesWhatWasInForceThen) {
  Folder f("dates");
  f.bundle("law", kLaw);
  const ScenarioSpec as_of = f.load(kTwo + "policies: [law]\n");
  EXPECT_DOUBLE_EQ(find(as_of, "main").controls.evidence_retention_days, 365);
  EXPECT_FALSE(find(as_of, "main").controls.location_hidden);  // lapsed by as_of
  const ScenarioSpec early = f.load(kTwo + "policies: [{bundle: law, law_on: 2026-01-01}]\n");
  EXPECT_DOUBLE_EQ(find(early, "main").controls.evidence_retention_days, 90);
  EXPECT_TRUE(find(early, "main").controls.location_hidden);  // still in force then
  EXPECT_TRUE(logged(early, "later (not in force until 2026-04-07)"));
  // A timeline event brings the measure into force mid-run.
  const ScenarioSpec tl =
      f.load(kTwo +
             "policies: [{bundle: law, law_on: 2026-01-01}]\ntimeline: [{day: 100, platform: main, policy: "
             "law, law_on: 2026-05-01}]\n");
  ASSERT_EQ(tl.timeline.size(), 1u);
  EXPECT_DOUBLE_EQ(tl.timeline[0].after.controls.evidence_retention_days, 365);
  EXPECT_DOUBLE_EQ(find(tl, "main").controls.evidence_retention_days, 90);
}

TEST(Bundles, ABundleWithNoMeasureForAPlatformSaysSo) {
  Folder f("silent");
  f.bundle("law", kLaw);
  const ScenarioSpec s = f.load("platforms:\n  g: {kind: gaming}\npolicies: [law]\n");
  EXPECT_TRUE(logged(s, "-> g: outside the bundle's scope (kind gaming not in [social, messaging, file_hosting])"));
  // Before any measure was in force, a platform in scope gets nothing, and the dump says so.
  const ScenarioSpec s2 = f.load("platforms:\n  c: {kind: messaging}\npolicies: [{bundle: law, law_on: 2020-01-01}]\n");
  EXPECT_TRUE(logged(s2, "-> c: no measure applies; not applied: dm-default (not in force until 2025-03-17)"));
  EXPECT_NE(dump_scenario(s2).find("-> c: no measure applies"), std::string::npos);
  EXPECT_NE(dump_scenario(s2).find("\n# policy: law (law on 2020-01-01)"), std::string::npos);
}

TEST(Bundles, BadBundlesGiveOneLineWithFileLineKeyAndClosestName) {
  Folder f("bad");
  const std::string head = "bundle: law\nas_of: 2026-12-01\nmeasures:\n  - id: m\n    text: t\n    source: s\n";
  struct Case {
    std::string body, expect;
  };
  const Case cases[] = {
      {"    status: in_froce\n    since: 2025-01-01\n",
       "law.yaml:7:13: measures[0].status: expected one of in_force, lapsed, proposed, practice, got 'in_froce' (did "
       "you mean 'in_force'?)"},
      {"    status: in_force\n    since: 2025-13-01\n", "law.yaml:8:12: measures[0].since: expected a date YYYY-MM-DD"},
      {"    status: in_force\n", "law.yaml:4:5: measures[0].since: missing key 'since'"},
      {"    status: lapsed\n    since: 2021-01-01\n", "measures[0].until: missing key 'until'"},
      {"    status: in_force\n    since: 2025-01-01\n    aplies_to: {kinds: [social]}\n",
       "law.yaml:9:5: measures[0].aplies_to: unknown key 'aplies_to' (did you mean 'applies_to'?)"},
      {"    status: in_force\n    since: 2025-01-01\n    applies_to: {risk: hihg}\n",
       "measures[0].applies_to.risk: expected any or found"},
      {"    status: in_force\n    since: 2025-01-01\n    applies_to: {surfaces: [file_share]}\n",
       "measures[0].applies_to.surfaces: unknown surface 'file_share'"},
      {"    status: in_force\n    since: 2025-01-01\n    modelled: false\n    platform: {controls: {location_hidden: "
       "true}}\n",
       "measures[0].platform: a measure with modelled: false sets no keys"},
      {"    status: in_force\n    since: 2025-01-01\n    platform: {kind: video}\n",
       "measures[0].platform.kind: a measure sets platform controls only"},
      {"    status: in_force\n    since: 2025-01-01\n    platform: {controls: {locaton_hidden: true}}\n",
       "(did you mean"},
      {"    text2: x\n", "measures[0].text2: unknown key 'text2'"},
  };
  for (const auto& c : cases) {
    f.bundle("law", head + c.body);
    const std::string err = f.error("policies: [law]\n");
    EXPECT_NE(err.find(c.expect), std::string::npos) << "case:\n" << c.body << "got: " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
  f.bundle("law", head + "    since: 2025-01-01\n");
  EXPECT_NE(f.error("policies: [law]\n").find("measures[0].status: missing key 'status'"), std::string::npos);
  f.bundle("law", head + "    status: in_force\n    since: 2025-01-01\n");
  EXPECT_NE(f.error("policies: [{bundle: law, law_on: 2026-02-30}]\n").find("policies[0].law_on: expected a date"),
            std::string::npos);
  EXPECT_NE(f.error("policies: [{bundle: law, risk_fund: true}]\n").find("(did you mean 'risk_found'?)"),
            std::string::npos);
}

// The detection channels table (sim/src/channels.hpp): every channel has its
// metric, every offenders_detected_* metric has its channel, and a run counts
// each action once, in exactly one channel.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "channels.hpp"
#include "safesim/simulation.hpp"

using namespace safesim;
using namespace safesim::detail;

TEST(Channels, EveryChannelHasItsMetricAndEveryDetectionMetricAChannel) {
  constexpr std::string_view prefix = "offenders_detected_";
  std::set<std::string> from_channels;
  for (const ChannelInfo& c : kChannels) {
    EXPECT_EQ(kMetrics[idx(c.metric)].name, std::string(prefix) + c.name);
    EXPECT_TRUE(from_channels.insert(c.name).second) << "duplicate channel " << c.name;
  }
  for (const MetricInfo& m : kMetrics)
    if (m.name.substr(0, prefix.size()) == prefix) {
      EXPECT_EQ(from_channels.count(std::string(m.name.substr(prefix.size()))), 1u) << m.name << " has no channel";
    }
}

TEST(Channels, OnlyReportsCountAsActionedByReportAndOnlyOwnFindingsAreReported) {
  for (const ChannelInfo& c : kChannels) {
    const std::string name = c.name;
    EXPECT_EQ(c.found_by == FoundBy::report, name == "user_report" || name == "trusted_flagger") << name;
    // Acting on someone else's finding is not a new finding to report.
    EXPECT_EQ(c.confirmed_here, name != "linkage" && name != "signal_sharing" && name != "law_enforcement") << name;
    // A detector offenders can see is one the platform runs on content or behaviour.
    if (c.visibility != nullptr) {
      EXPECT_EQ(c.found_by, FoundBy::detection) << name;
    }
  }
}

// Every ban is counted once in offenders_detected and once in its channel:
// with every detector and report route on, the channels add up.
TEST(Channels, ChannelCountsAddUpToOffendersDetected) {
  ScenarioSpec s = default_scenario();
  s.population.users = 6000;
  s.horizon_days = 120;
  s.offenders.share_of_adults = 0.01;
  ControlsSpec& c = s.platforms[0].controls;
  c.hash_matching.enabled = true;
  c.url_blocking.enabled = true;
  c.new_material_classifier.enabled = true;
  c.grooming_detection.enabled = true;
  c.behavioural_risk.enabled = true;
  c.enforcement.linkage_detection = 0.5;
  const RunOutput out = run(s, 3);
  double sum = 0;
  int active = 0;
  for (const ChannelInfo& ch : kChannels) {
    sum += out.total(ch.metric);
    active += out.total(ch.metric) > 0;
  }
  EXPECT_GE(active, 5) << "most channels should act in this run";
  EXPECT_DOUBLE_EQ(sum, out.total(Metric::offenders_detected));
  EXPECT_DOUBLE_EQ(out.total(Metric::offenders_detected), out.total(Metric::offenders_banned));
}

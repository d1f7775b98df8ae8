// The named random streams (safesim/streams.hpp). A name listed twice does
// not compile; what can go wrong at run time is two names hashing to one id,
// a stream declared and never drawn, and two decisions sharing a stream with
// keys that can meet (benign_detection was keyed by (account, 7) in one place
// and by (platform, tick) in another, so the two could draw the same numbers).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "safesim/streams.hpp"

namespace {

/// Uses of `streams::NAME` in the engine's sources, by name.
std::map<std::string, int> stream_uses() {
  std::map<std::string, int> uses;
  const std::regex use(R"(streams::([a-z_]+))");
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(SAFESIM_SOURCE_DIR) / "sim" / "src")) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), use); it != std::sregex_iterator(); ++it) ++uses[(*it)[1]];
  }
  return uses;
}

}  // namespace

TEST(Streams, IdsDoNotCollide) {
  std::set<std::uint32_t> ids;
  for (auto n : safesim::streams::kAllNames) ids.insert(safesim::rng::stream_id(n));
  EXPECT_EQ(ids.size(), safesim::streams::kAllNames.size()) << "two stream names hash to the same id";
}

TEST(Streams, EveryStreamIsDrawnAndSharedOnlyWithKeysThatCannotMeet) {
  // Streams drawn at more than one site, and why their keys never meet. A new
  // second site needs its own stream, or a line here saying why not.
  const std::map<std::string, std::string> shared = {
      {"declared_age",
       "per (user, platform) from slot 0; the platform's declaration strata phases keyed (2^32 - 1, platform, 2 age "
       "+ 0 or 1), past every user id"},
      {"discovery", "attempt count at slot 0; each attempt's block from slot 1024 + 16 k"},
      {"dyad", "encryption draw at slot 0xFFFFFFFF; events at (start_day < 32767, events) * 2 (+1)"},
      {"graph_peer",
       "ties outside the class from slot 0 (a count and a few words per tie); the class's pairs from slot 2^16"},
      {"graph_partner",
       "graph.on_demand: block b's shuffle keyed (b, platform * 128 + round); the round's shift keyed (2^32 - 1, "
       "platform * 128 + round), past every block index"},
      {"benign",
       "(platform, tick): the counts' cursor from slot 0 (a few blocks a tick); legitimate group adds' cursor from "
       "slot 2^24"},
      {"membership",
       "large platforms at slot 0, small ones at slot 1 (a platform is one or the other); a displaced minor's move "
       "at slot 2"},
      {"reach",
       "(minor's user, account key): the gates' block at slot tick * 4 + slot; a group contact's group-add draw at "
       "slot 2^31 | (tick * 4 + slot), past every gate slot (tick * 4 < 2^31)"},
      {"offender",
       "initial offenders keyed (user, 0); arrivals (day, 1); the sampling and type-sequence starts (2^32 - 1, 2 "
       "and 3), past every user id and day; replacements (departed offender's key, 4: who; 5: when)"},
      {"reentry", "return decision keyed (account key, 0); return platform keyed (next key, 1)"},
      {"review", "(platform, tick): drawn by the platform's own review or by its operator's pooled review, never both"},
      {"user_join", "late-join flag at slot 0; join day from slot 1"},
      {"user_age", "per user keyed (user, 0); the sampling start keyed (2^32 - 1, 0), past every user id"},
  };
  const auto uses = stream_uses();
  for (auto name : safesim::streams::kAllNames) {
    const std::string n(name);
    const auto it = uses.find(n);
    ASSERT_NE(it, uses.end()) << "stream " << n << " is declared but never drawn";
    if (it->second > 1) {
      EXPECT_TRUE(shared.count(n)) << "stream " << n << " is drawn at " << it->second << " sites";
    }
  }
  for (const auto& [name, count] : uses) {
    EXPECT_NE(std::find(safesim::streams::kAllNames.begin(), safesim::streams::kAllNames.end(), name),
              safesim::streams::kAllNames.end())
        << name << " is drawn but not declared";
  }
}

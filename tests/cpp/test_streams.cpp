#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "safesim/streams.hpp"

TEST(Streams, NamesAreUniqueAndIdsDoNotCollide) {
  std::set<std::string_view> names(safesim::streams::kAllNames.begin(), safesim::streams::kAllNames.end());
  EXPECT_EQ(names.size(), safesim::streams::kAllNames.size()) << "a stream name is listed twice";
  std::set<std::uint32_t> ids;
  for (auto n : safesim::streams::kAllNames) ids.insert(safesim::rng::stream_id(n));
  EXPECT_EQ(ids.size(), safesim::streams::kAllNames.size()) << "two stream names hash to the same id";
}

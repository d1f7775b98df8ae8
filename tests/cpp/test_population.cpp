// The population's age distribution (population.cpp) and share_aged (spec.hpp),
// which states it for the loader's checks: the two must agree, or the loader's
// peer key-space refusal would name a number the run does not hold.
#include <gtest/gtest.h>

#include <cmath>

#include "model_util.hpp"
#include "state.hpp"

using namespace safesim;

namespace {

double drawn_share(const detail::Population& pop, int lo, int hi) {
  std::size_t in = 0;
  for (std::size_t u = 0; u < pop.size(); ++u) in += pop.age[u] >= lo && pop.age[u] <= hi ? 1 : 0;
  return static_cast<double>(in) / static_cast<double>(pop.size());
}

}  // namespace

TEST(Population, ShareAgedIsTheShareTheDrawGives) {
  ScenarioSpec spec = safesim::test::small(40000, 10);
  spec.population.minor_share = 0.3;
  spec.population.youngest_age = 9;
  spec.population.oldest_age = 60;
  detail::State s;
  s.spec = &spec;
  s.seed = 5;
  detail::clear_cache();
  detail::build_structure(s);
  // Ranges inside the minors, inside the adults, across 18, and outside both.
  const int ranges[][2] = {{13, 17}, {13, 24}, {9, 9}, {18, 60}, {30, 45}, {16, 19}, {61, 90}, {0, 8}};
  for (const auto& r : ranges) {
    const double want = share_aged(spec.population, r[0], r[1]);
    const double got = drawn_share(s.pop, r[0], r[1]);
    // Minors' ages are spread evenly (a low-discrepancy sequence); adults' are
    // independent uniform draws: a binomial sd on 40,000 users is at most 0.0025.
    EXPECT_NEAR(got, want, 0.01) << "ages " << r[0] << "-" << r[1];
  }
  EXPECT_DOUBLE_EQ(share_aged(spec.population, 0, 200), 1.0);
  EXPECT_DOUBLE_EQ(share_aged(spec.population, 61, 90), 0.0);
}

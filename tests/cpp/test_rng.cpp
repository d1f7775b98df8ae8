// Tests for safesim::rng (sim/include/safesim/rng.hpp).
//
// Every statistical test uses a fixed seed, so it is deterministic; the
// thresholds sit near p = 1e-6 (about 5 standard errors), so a correct
// generator passes for essentially any seed while a broken one fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <vector>

#include "safesim/rng.hpp"

namespace {

using safesim::rng::Block;
using safesim::rng::Draw;
using safesim::rng::philox4x32;
using safesim::rng::stream_id;
using safesim::rng::to_unit;
using safesim::rng::uniform_at;

// ---------------------------------------------------------------- helpers

constexpr double kZ = 5.0;  // two-sided p ~ 5.7e-7 for a normal statistic

/// Regularised upper incomplete gamma Q(a, x) (series / continued fraction).
double gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double gln = std::lgamma(a);
  if (x < a + 1.0) {
    double ap = a, sum = 1.0 / a, del = sum;
    for (int n = 0; n < 10000; ++n) {
      ap += 1.0;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * 1e-15) break;
    }
    return 1.0 - sum * std::exp(-x + a * std::log(x) - gln);
  }
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - gln) * h;
}

/// Upper-tail p-value of a chi-square statistic with df degrees of freedom.
double chi2_pvalue(double stat, int df) { return gamma_q(0.5 * df, 0.5 * stat); }

struct Chi2 {
  double stat = 0;
  int df = 0;
  double p = 1;
};

/// Chi-square goodness of fit of integer samples against a pmf on 0, 1, ...
/// Adjacent values are merged until each bin expects at least 5; the last bin
/// absorbs the whole upper tail.
Chi2 chi2_gof(const std::vector<std::uint64_t>& samples, const std::function<double(std::uint64_t)>& pmf,
              std::uint64_t kmax) {
  const double n = static_cast<double>(samples.size());
  std::vector<double> obs(kmax + 2, 0.0);
  for (std::uint64_t s : samples) ++obs[std::min<std::uint64_t>(s, kmax + 1)];
  std::vector<double> bin_e, bin_o;
  double e = 0, o = 0, cum = 0;
  for (std::uint64_t k = 0; k <= kmax; ++k) {
    const double pk = pmf(k);
    cum += pk;
    e += n * pk;
    o += obs[k];
    if (e >= 5.0) {
      bin_e.push_back(e);
      bin_o.push_back(o);
      e = o = 0;
    }
  }
  // Upper tail beyond kmax, plus any unfinished bin.
  e += n * std::max(0.0, 1.0 - cum);
  o += obs[kmax + 1];
  if (!bin_e.empty()) {
    bin_e.back() += e;
    bin_o.back() += o;
  } else {
    bin_e.push_back(e);
    bin_o.push_back(o);
  }
  Chi2 r;
  for (std::size_t i = 0; i < bin_e.size(); ++i) r.stat += (bin_o[i] - bin_e[i]) * (bin_o[i] - bin_e[i]) / bin_e[i];
  r.df = static_cast<int>(bin_e.size()) - 1;
  r.p = chi2_pvalue(r.stat, r.df);
  return r;
}

/// Chi-square of counts against equal expected frequencies.
Chi2 chi2_flat(const std::vector<double>& counts) {
  double total = 0;
  for (double c : counts) total += c;
  const double e = total / static_cast<double>(counts.size());
  Chi2 r;
  for (double c : counts) r.stat += (c - e) * (c - e) / e;
  r.df = static_cast<int>(counts.size()) - 1;
  r.p = chi2_pvalue(r.stat, r.df);
  return r;
}

struct Moments {
  double mean = 0, var = 0;
};

template <class T>
Moments moments(const std::vector<T>& xs) {
  // Two-pass for accuracy.
  double s = 0;
  for (T x : xs) s += static_cast<double>(x);
  const double n = static_cast<double>(xs.size());
  const double m = s / n;
  double ss = 0;
  for (T x : xs) ss += (static_cast<double>(x) - m) * (static_cast<double>(x) - m);
  return {m, ss / (n - 1)};
}

/// Checks the sample mean and variance against the population mean, variance
/// and fourth central moment, with tolerances of kZ standard errors.
template <class T>
void expect_moments(const std::vector<T>& xs, double mean, double var, double mu4, const char* what) {
  const Moments m = moments(xs);
  const double n = static_cast<double>(xs.size());
  const double se_mean = std::sqrt(var / n);
  const double se_var = std::sqrt(std::max(mu4 - var * var, 0.0) / n);
  EXPECT_NEAR(m.mean, mean, kZ * se_mean + 1e-12) << what << ": mean";
  EXPECT_NEAR(m.var, var, kZ * se_var + 1e-12) << what << ": variance";
}

/// Pearson correlation.
double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

double log_poisson_pmf(double lambda, std::uint64_t k) {
  const double dk = static_cast<double>(k);
  return -lambda + dk * std::log(lambda) - std::lgamma(dk + 1.0);
}

double binomial_pmf(std::uint64_t n, double p, std::uint64_t k) {
  if (k > n) return 0.0;
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  return std::exp(std::lgamma(dn + 1) - std::lgamma(dk + 1) - std::lgamma(dn - dk + 1) + dk * std::log(p) +
                  (dn - dk) * std::log1p(-p));
}

constexpr std::uint64_t kSeed = 0x5AFE5EED2024ULL;

// ------------------------------------------------------ test helper sanity

TEST(RngTestHelpers, Chi2PValueMatchesReferenceQuantiles) {
  // Upper 1e-6 quantiles from scipy.stats.chi2.isf(1e-6, df).
  EXPECT_NEAR(chi2_pvalue(180.79201532589974, 99), 1e-6, 1e-8);
  EXPECT_NEAR(chi2_pvalue(44.81093787068782, 9), 1e-6, 1e-8);
  EXPECT_NEAR(chi2_pvalue(27.631021115928547, 2), 1e-6, 1e-8);
  EXPECT_NEAR(chi2_pvalue(1226.046189012162, 999), 1e-6, 1e-8);
  EXPECT_NEAR(chi2_pvalue(2.0, 2), std::exp(-1.0), 1e-12);  // df = 2 is Exp(1/2)
  EXPECT_NEAR(chi2_pvalue(99.0, 99), 0.48, 0.01);           // median ~ df
}

// --------------------------------------------------- Philox known answers

// Known-answer vectors from the Random123 distribution (kat_vectors), checked
// against an independent Python implementation of Philox4x32-10.
static_assert(philox4x32(0, 0, 0, 0, 0, 0).v[0] == 0x6627e8d5u, "Philox KAT must hold at compile time");

TEST(RngPhilox, KnownAnswerZero) {
  const Block b = philox4x32(0, 0, 0, 0, 0, 0);
  EXPECT_EQ(b.v[0], 0x6627e8d5u);
  EXPECT_EQ(b.v[1], 0xe169c58du);
  EXPECT_EQ(b.v[2], 0xbc57ac4cu);
  EXPECT_EQ(b.v[3], 0x9b00dbd8u);
}

TEST(RngPhilox, KnownAnswerAllOnes) {
  const std::uint32_t f = 0xffffffffu;
  const Block b = philox4x32(f, f, f, f, f, f);
  EXPECT_EQ(b.v[0], 0x408f276du);
  EXPECT_EQ(b.v[1], 0x41c83b0eu);
  EXPECT_EQ(b.v[2], 0xa20bc7c6u);
  EXPECT_EQ(b.v[3], 0x6d5451fdu);
}

TEST(RngPhilox, KnownAnswerPiDigits) {
  const Block b = philox4x32(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(b.v[0], 0xd16cfe09u);
  EXPECT_EQ(b.v[1], 0x94fdccebu);
  EXPECT_EQ(b.v[2], 0x5001e420u);
  EXPECT_EQ(b.v[3], 0x24126ea1u);
}

TEST(RngPhilox, UniformAtMapsCounterAndSeedAsDocumented) {
  // Counter = (stream, entity, time, slot); key = (seed low 32, seed high 32);
  // values from the independent Python implementation.
  EXPECT_EQ(stream_id("infection"), 0xb2f9653eu);
  EXPECT_DOUBLE_EQ(uniform_at(0x0123456789abcdefULL, stream_id("infection"), 42, 7, 3), 0.0953730213423733);
  EXPECT_DOUBLE_EQ(uniform_at(1, 2, 3, 4, 5), 0.11557768135726237);
  const Block b = philox4x32(11, 22, 33, 0, 0xdeadbeefu, 0x12345678u);
  EXPECT_EQ(b.v[0], 0x8c19438eu);
  EXPECT_EQ(b.v[1], 0x3e224551u);
  EXPECT_EQ(b.v[2], 0x731d8941u);
  EXPECT_EQ(b.v[3], 0xf7808ff6u);
  Draw d(0x12345678deadbeefULL, 11, 22, 33);
  EXPECT_EQ(d.u32(), 0x8c19438eu);
  EXPECT_EQ(d.u32(), 0x3e224551u);
  EXPECT_EQ(d.u32(), 0x731d8941u);
  EXPECT_EQ(d.u32(), 0xf7808ff6u);
}

TEST(RngPhilox, ToUnitStaysInsideOpenInterval) {
  // The extreme words must map strictly inside (0, 1): (2^53 - 1 + 0.5) is not
  // representable and used to round up to exactly 1.0.
  EXPECT_GT(to_unit(0, 0), 0.0);
  EXPECT_LT(to_unit(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_LT(to_unit(0xffffffffu, 0xfffff800u), 1.0);
  EXPECT_DOUBLE_EQ(to_unit(0, 0), 0x1.0p-54);
  EXPECT_DOUBLE_EQ(to_unit(0x80000000u, 0), 0.5 + 0x1.0p-54);
  // Monotone in the 53 used bits.
  EXPECT_LT(to_unit(0x7fffffffu, 0xffffffffu), to_unit(0x80000000u, 0));
  EXPECT_LT(to_unit(5, 0), to_unit(5, 0x800u));
}

// ------------------------------------------------------------ determinism

TEST(RngDeterminism, SameKeySameValue) {
  for (std::uint32_t e = 0; e < 100; ++e) {
    EXPECT_EQ(uniform_at(kSeed, 7, e, 3, 1), uniform_at(kSeed, 7, e, 3, 1));
  }
}

TEST(RngDeterminism, DrawSequencesAreReproducible) {
  auto run = [](Draw d) {
    std::vector<double> out;
    for (int i = 0; i < 50; ++i) {
      out.push_back(d.uniform());
      out.push_back(static_cast<double>(d.u32()));
      out.push_back(d.normal());
      out.push_back(d.gamma(2.5));
      out.push_back(static_cast<double>(d.poisson(30.0)));
      out.push_back(static_cast<double>(d.binomial(100, 0.2)));
      out.push_back(static_cast<double>(d.below(17)));
    }
    return out;
  };
  const auto a = run(Draw(kSeed, 5, 6, 7));
  const auto b = run(Draw(kSeed, 5, 6, 7));
  EXPECT_EQ(a, b);
  const auto c = run(Draw(kSeed, 5, 6, 8));
  EXPECT_NE(a, c);
}

TEST(RngDeterminism, DrawSlotsMatchUniformAt) {
  // Each Philox block is one slot; a fresh Draw at first_slot = s yields
  // uniform_at(..., s) first, and consecutive blocks are consecutive slots.
  for (std::uint32_t s = 0; s < 20; ++s) {
    Draw d(kSeed, 9, 10, 11, s);
    EXPECT_EQ(d.uniform(), uniform_at(kSeed, 9, 10, 11, s));
  }
  Draw d(kSeed, 9, 10, 11);
  for (std::uint32_t s = 0; s < 20; ++s) {
    const Block b =
        philox4x32(9, 10, 11, s, static_cast<std::uint32_t>(kSeed), static_cast<std::uint32_t>(kSeed >> 32));
    for (int w = 0; w < 4; ++w) EXPECT_EQ(d.u32(), b.v[w]) << "slot " << s << " word " << w;
  }
}

TEST(RngDeterminism, EveryKeyComponentChangesTheValue) {
  const double base = uniform_at(kSeed, 1, 2, 3, 4);
  EXPECT_NE(base, uniform_at(kSeed + 1, 1, 2, 3, 4));
  EXPECT_NE(base, uniform_at(kSeed ^ (1ULL << 40), 1, 2, 3, 4));  // high seed word is used
  EXPECT_NE(base, uniform_at(kSeed, 0, 2, 3, 4));
  EXPECT_NE(base, uniform_at(kSeed, 1, 1, 3, 4));
  EXPECT_NE(base, uniform_at(kSeed, 1, 2, 2, 4));
  EXPECT_NE(base, uniform_at(kSeed, 1, 2, 3, 5));
  // Swapping counter components is not a symmetry.
  EXPECT_NE(uniform_at(kSeed, 1, 2, 3, 4), uniform_at(kSeed, 2, 1, 3, 4));
  EXPECT_NE(uniform_at(kSeed, 1, 2, 3, 4), uniform_at(kSeed, 1, 2, 4, 3));
  EXPECT_NE(uniform_at(5, 1, 2, 3, 4), uniform_at(5ULL << 32, 1, 2, 3, 4));

  // All values distinct over a grid of every component (1e-15 collision odds).
  std::set<double> seen;
  int n = 0;
  for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, kSeed, std::uint64_t{1} << 32})
    for (std::uint32_t stream = 0; stream < 4; ++stream)
      for (std::uint32_t e = 0; e < 8; ++e)
        for (std::uint32_t t = 0; t < 8; ++t)
          for (std::uint32_t s = 0; s < 4; ++s) {
            seen.insert(uniform_at(seed, stream, e, t, s));
            ++n;
          }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
}

TEST(RngDeterminism, DrawsForDifferentKeysDiffer) {
  auto first = [](Draw d) {
    std::array<std::uint32_t, 8> out{};
    for (auto& x : out) x = d.u32();
    return out;
  };
  const auto a = first(Draw(kSeed, 1, 2, 3));
  EXPECT_NE(a, first(Draw(kSeed + 1, 1, 2, 3)));
  EXPECT_NE(a, first(Draw(kSeed, 4, 2, 3)));
  EXPECT_NE(a, first(Draw(kSeed, 1, 3, 3)));
  EXPECT_NE(a, first(Draw(kSeed, 1, 2, 4)));
  EXPECT_NE(a, first(Draw(kSeed, 1, 2, 3, 1)));
}

// ------------------------------------------------------------- uniformity

TEST(RngUniformity, ChiSquareOverConsecutiveEntities) {
  // 1e6 uniforms from consecutive entity ids (a highly structured counter
  // sequence) into 100 bins.
  constexpr int kBins = 100;
  constexpr std::uint32_t kN = 1000000;
  std::vector<double> counts(kBins, 0.0);
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  for (std::uint32_t i = 0; i < kN; ++i) {
    const double u = uniform_at(kSeed, stream_id("uniformity"), i, 0, 0);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    counts[static_cast<int>(u * kBins)] += 1;
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  const Chi2 c = chi2_flat(counts);
  EXPECT_EQ(c.df, 99);
  EXPECT_LT(c.stat, 180.79) << "chi-square p = " << c.p;  // p = 1e-6 critical value, df 99
  const double n = kN;
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, kZ * std::sqrt(1.0 / 12.0 / n));
  EXPECT_NEAR(var, 1.0 / 12.0, kZ * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / n));
  EXPECT_LT(lo, 1e-5);
  EXPECT_GT(hi, 1 - 1e-5);
}

TEST(RngUniformity, KolmogorovSmirnovOfDrawSequence) {
  constexpr int kN = 200000;
  std::vector<double> u;
  u.reserve(kN);
  Draw d(kSeed, stream_id("ks"), 0, 0);
  for (int i = 0; i < kN; ++i) u.push_back(d.uniform());
  std::sort(u.begin(), u.end());
  double dmax = 0;
  for (int i = 0; i < kN; ++i) {
    dmax = std::max(dmax, std::max((i + 1.0) / kN - u[i], u[i] - static_cast<double>(i) / kN));
  }
  // Kolmogorov: P(sqrt(n) D > x) ~ 2 exp(-2 x^2); x = 2.693 at p = 1e-6.
  EXPECT_LT(std::sqrt(static_cast<double>(kN)) * dmax, 2.693);
  const Moments m = moments(u);
  EXPECT_NEAR(m.mean, 0.5, kZ * std::sqrt(1.0 / 12.0 / kN));
  EXPECT_NEAR(m.var, 1.0 / 12.0, kZ * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / kN));
}

TEST(RngUniformity, EveryOutputBitIsBalanced) {
  // Each of the 32 bits of each of the 4 block words over consecutive slots.
  constexpr int kBlocks = 50000;
  std::array<std::array<int, 32>, 4> ones{};
  for (std::uint32_t s = 0; s < kBlocks; ++s) {
    const Block b = philox4x32(3, 1, 4, s, 15, 92);
    for (int w = 0; w < 4; ++w)
      for (int bit = 0; bit < 32; ++bit) ones[w][bit] += static_cast<int>((b.v[w] >> bit) & 1u);
  }
  // 128 binomial(5e4, 1/2) counts: bound at 5.5 sd (family-wise p ~ 5e-6).
  const double sd = std::sqrt(kBlocks * 0.25);
  for (int w = 0; w < 4; ++w)
    for (int bit = 0; bit < 32; ++bit)
      EXPECT_NEAR(ones[w][bit], kBlocks / 2.0, 5.5 * sd) << "word " << w << " bit " << bit;
}

// ----------------------------------------------------------- independence

TEST(RngIndependence, NeighbouringKeysAreUncorrelated) {
  constexpr std::uint32_t kN = 100000;
  const double bound = kZ / std::sqrt(static_cast<double>(kN));
  const std::uint32_t st = stream_id("independence");
  std::vector<double> x(kN), y(kN);
  auto check = [&](const char* what) { EXPECT_LT(std::fabs(correlation(x, y)), bound) << what; };
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(kSeed, st, i, 5, 0);
    y[i] = uniform_at(kSeed, st, i + 1, 5, 0);
  }
  check("consecutive entities");
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(kSeed, st, 17, i, 0);
    y[i] = uniform_at(kSeed, st, 17, i + 1, 0);
  }
  check("consecutive times");
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(kSeed, st, i, 5, 0);
    y[i] = uniform_at(kSeed, st, i, 5, 1);
  }
  check("consecutive slots");
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(i, st, 17, 5, 0);
    y[i] = uniform_at(i + 1, st, 17, 5, 0);
  }
  check("consecutive seeds");
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(kSeed, st, i, 5, 0);
    y[i] = uniform_at(kSeed, st + 1, i, 5, 0);
  }
  check("consecutive streams");
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = uniform_at(kSeed, st, i, 5, 0);
    y[i] = uniform_at(kSeed, st, i, 6, 0);
  }
  check("same entity, next time");
  Draw d(kSeed, st, 0, 0);
  double prev = d.uniform();
  for (std::uint32_t i = 0; i < kN; ++i) {
    x[i] = prev;
    y[i] = prev = d.uniform();
  }
  check("lag-1 within a Draw");
}

TEST(RngIndependence, SingleBitAvalanche) {
  // Flipping any one of the 128 counter bits or 64 key bits flips about half
  // of the 128 output bits.
  constexpr int kTrials = 300;
  Draw src(kSeed, stream_id("avalanche"), 0, 0);
  double total = 0;
  int total_n = 0;
  for (int bit = 0; bit < 192; ++bit) {
    double flips = 0;
    for (int t = 0; t < kTrials; ++t) {
      std::uint32_t in[6];
      for (auto& w : in) w = src.u32();
      const Block a = philox4x32(in[0], in[1], in[2], in[3], in[4], in[5]);
      in[bit / 32] ^= 1u << (bit % 32);
      const Block b = philox4x32(in[0], in[1], in[2], in[3], in[4], in[5]);
      for (int w = 0; w < 4; ++w) flips += std::popcount(a.v[w] ^ b.v[w]);
    }
    const double mean = flips / kTrials;
    // Per input bit: flips ~ Binomial(128, 1/2), sd 5.66; mean sd 0.33.
    EXPECT_NEAR(mean, 64.0, 2.0) << "input bit " << bit;
    total += flips;
    total_n += kTrials;
  }
  EXPECT_NEAR(total / total_n, 64.0, kZ * std::sqrt(32.0 / total_n));
}

// ------------------------------------------------------------------ below

TEST(RngBelow, InRangeAndUniform) {
  for (std::uint32_t n : {3u, 10u, 1000u}) {
    Draw d(kSeed, stream_id("below"), n, 0);
    const int draws = 200 * static_cast<int>(std::max(n, 1000u));
    std::vector<double> counts(n, 0.0);
    for (int i = 0; i < draws; ++i) {
      const std::uint32_t v = d.below(n);
      ASSERT_LT(v, n);
      counts[v] += 1;
    }
    const Chi2 c = chi2_flat(counts);
    EXPECT_GT(c.p, 1e-6) << "n = " << n << " chi2 = " << c.stat << " df = " << c.df;
  }
  Draw d(kSeed, 1, 2, 3);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(d.below(1), 0u);
  bool saw_top = false;
  for (int i = 0; i < 1000; ++i) saw_top |= d.below(2) == 1u;
  EXPECT_TRUE(saw_top);
}

TEST(RngBernoulli, EdgesAndFrequency) {
  Draw d(kSeed, stream_id("bernoulli"), 0, 0);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_FALSE(d.bernoulli(0.0));
    EXPECT_TRUE(d.bernoulli(1.0));
  }
  constexpr int kN = 100000;
  int hits = 0;
  for (int i = 0; i < kN; ++i) hits += d.bernoulli(0.3) ? 1 : 0;
  EXPECT_NEAR(hits, 0.3 * kN, kZ * std::sqrt(kN * 0.3 * 0.7));
}

// --------------------------------------------------------------- samplers

constexpr int kSamples = 100000;

template <class F>
auto sample(std::uint32_t entity, F&& f) {
  Draw d(kSeed, stream_id("samplers"), entity, 0);
  using T = decltype(f(d));
  std::vector<T> xs;
  xs.reserve(kSamples);
  for (int i = 0; i < kSamples; ++i) xs.push_back(f(d));
  return xs;
}

TEST(RngSamplers, Exponential) {
  for (double rate : {0.25, 1.0, 3.0}) {
    const auto xs = sample(1, [rate](Draw& d) { return d.exponential(rate); });
    for (double x : xs) ASSERT_TRUE(x >= 0 && std::isfinite(x));
    const double v = 1 / (rate * rate);
    expect_moments(xs, 1 / rate, v, 9 * v * v, "exponential");
  }
}

TEST(RngSamplers, Normal) {
  const auto xs = sample(2, [](Draw& d) { return d.normal(); });
  expect_moments(xs, 0.0, 1.0, 3.0, "standard normal");
  // Both Box-Muller outputs (even and odd positions) are N(0,1) and uncorrelated.
  std::vector<double> even, odd;
  for (std::size_t i = 0; i + 1 < xs.size(); i += 2) {
    even.push_back(xs[i]);
    odd.push_back(xs[i + 1]);
  }
  expect_moments(even, 0.0, 1.0, 3.0, "normal, first of pair");
  expect_moments(odd, 0.0, 1.0, 3.0, "normal, cached second of pair");
  EXPECT_LT(std::fabs(correlation(even, odd)), kZ / std::sqrt(static_cast<double>(even.size())));
  // Tail mass beyond 2 sd: 0.0455.
  int tail = 0;
  for (double x : xs) tail += std::fabs(x) > 2.0 ? 1 : 0;
  EXPECT_NEAR(tail, 0.0455003 * kSamples, kZ * std::sqrt(kSamples * 0.0455 * 0.9545));

  const auto ys = sample(3, [](Draw& d) { return d.normal(10.0, 2.5); });
  const double s4 = std::pow(2.5, 4);
  expect_moments(ys, 10.0, 6.25, 3 * s4, "normal(10, 2.5)");
}

TEST(RngSamplers, Lognormal) {
  const double mu = 0.3, sigma = 0.5, s2 = sigma * sigma;
  const auto xs = sample(4, [&](Draw& d) { return d.lognormal(mu, sigma); });
  for (double x : xs) ASSERT_GT(x, 0.0);
  const double mean = std::exp(mu + s2 / 2);
  const double var = (std::exp(s2) - 1) * std::exp(2 * mu + s2);
  const double exkurt = std::exp(4 * s2) + 2 * std::exp(3 * s2) + 3 * std::exp(2 * s2) - 6;
  expect_moments(xs, mean, var, var * var * (exkurt + 3), "lognormal");
  // log of a lognormal is normal(mu, sigma).
  std::vector<double> logs;
  for (double x : xs) logs.push_back(std::log(x));
  expect_moments(logs, mu, s2, 3 * s2 * s2, "log of lognormal");
}

TEST(RngSamplers, Gamma) {
  std::uint32_t entity = 10;
  for (double k : {0.5, 1.0, 5.0}) {
    const auto xs = sample(entity++, [k](Draw& d) { return d.gamma(k); });
    for (double x : xs) ASSERT_TRUE(x >= 0 && std::isfinite(x)) << "shape " << k;
    // Gamma(k, 1): mean k, variance k, fourth central moment 3k^2 + 6k.
    expect_moments(xs, k, k, 3 * k * k + 6 * k, k == 0.5 ? "gamma(0.5)" : k == 1.0 ? "gamma(1)" : "gamma(5)");
  }
  Draw d(kSeed, 1, 2, 3);
  EXPECT_EQ(d.gamma(0.0), 0.0);
  EXPECT_EQ(d.gamma(-1.0), 0.0);
}

TEST(RngSamplers, Beta) {
  std::uint32_t entity = 20;
  for (auto [a, b] : {std::pair{1.0, 7.0}, std::pair{2.0, 2.0}}) {
    const auto xs = sample(entity++, [a = a, b = b](Draw& d) { return d.beta(a, b); });
    for (double x : xs) ASSERT_TRUE(x >= 0.0 && x <= 1.0);
    const double s = a + b;
    const double mean = a / s;
    const double var = a * b / (s * s * (s + 1));
    const double exkurt = 6 * ((a - b) * (a - b) * (s + 1) - a * b * (s + 2)) / (a * b * (s + 2) * (s + 3));
    expect_moments(xs, mean, var, var * var * (exkurt + 3), a == 1.0 ? "beta(1,7)" : "beta(2,2)");
  }
}

TEST(RngSamplers, PoissonMoments) {
  std::uint32_t entity = 30;
  for (double lambda : {0.5, 5.0, 11.9, 12.0, 50.0, 1000.0}) {
    const auto xs = sample(entity++, [lambda](Draw& d) { return d.poisson(lambda); });
    SCOPED_TRACE(::testing::Message() << "poisson(" << lambda << ")");
    // mu4 = lambda (1 + 3 lambda).
    expect_moments(xs, lambda, lambda, lambda * (1 + 3 * lambda), "poisson");
  }
  Draw d(kSeed, 1, 2, 3);
  EXPECT_EQ(d.poisson(0.0), 0u);
  EXPECT_EQ(d.poisson(-2.0), 0u);
  EXPECT_EQ(d.poisson(std::numeric_limits<double>::quiet_NaN()), 0u);
}

TEST(RngSamplers, PoissonPmfGoodnessOfFit) {
  // Inversion (mean < 12) and PTRS (mean >= 12) on both sides of the switch.
  std::uint32_t entity = 40;
  for (double lambda : {0.5, 5.0, 11.9, 12.0, 30.0}) {
    const auto xs = sample(entity++, [lambda](Draw& d) { return d.poisson(lambda); });
    const auto kmax = static_cast<std::uint64_t>(lambda + 12 * std::sqrt(lambda) + 10);
    const Chi2 c = chi2_gof(
        xs, [lambda](std::uint64_t k) { return std::exp(log_poisson_pmf(lambda, k)); }, kmax);
    EXPECT_GT(c.p, 1e-6) << "poisson(" << lambda << ") chi2 = " << c.stat << " df = " << c.df;
    EXPECT_GE(c.df, 3);
  }
}

TEST(RngSamplers, BinomialMoments) {
  struct Case {
    std::uint64_t n;
    double p;
  };
  std::uint32_t entity = 50;
  for (Case c : {Case{10, 0.3}, Case{1000, 0.001}, Case{1000, 0.5}, Case{1000000, 0.7}, Case{40, 0.9}}) {
    const auto xs = sample(entity++, [c](Draw& d) { return d.binomial(c.n, c.p); });
    for (auto x : xs) ASSERT_LE(x, c.n);
    const double dn = static_cast<double>(c.n);
    const double var = dn * c.p * (1 - c.p);
    const double v = var;  // exact inversion in every branch
    const double mu4 = 3 * var * var + var * (1 - 6 * c.p * (1 - c.p));
    SCOPED_TRACE(::testing::Message() << "binomial(" << c.n << ", " << c.p << ")");
    expect_moments(xs, dn * c.p, v, mu4, "binomial");
  }
  Draw d(kSeed, 1, 2, 3);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(d.binomial(50, 0.0), 0u);
    EXPECT_EQ(d.binomial(50, 1.0), 50u);
    EXPECT_EQ(d.binomial(0, 0.5), 0u);
    EXPECT_EQ(d.binomial(0, 1.0), 0u);
    EXPECT_EQ(d.binomial(1000000, 1.0), 1000000u);
  }
}

TEST(RngSamplers, BinomialPmfGoodnessOfFit) {
  struct Case {
    std::uint64_t n;
    double p;
  };
  std::uint32_t entity = 60;
  // Inversion branch, including the p > 1/2 reflection and a large-n, small-p case.
  for (Case c : {Case{10, 0.3}, Case{1000, 0.001}, Case{20, 0.7}, Case{1000000, 5e-6}, Case{60, 0.25}}) {
    const auto xs = sample(entity++, [c](Draw& d) { return d.binomial(c.n, c.p); });
    const std::uint64_t kmax = std::min<std::uint64_t>(c.n, 80);
    const Chi2 r = chi2_gof(
        xs, [c](std::uint64_t k) { return binomial_pmf(c.n, c.p, k); }, kmax);
    EXPECT_GT(r.p, 1e-6) << "binomial(" << c.n << ", " << c.p << ") chi2 = " << r.stat << " df = " << r.df;
    EXPECT_GE(r.df, 3);
  }
}

// -------------------------------------------------------------- stream ids

// stream_id must be usable at compile time (e.g. as a template argument).
static_assert(stream_id("") == 0x811c9dc5u, "FNV-1a offset basis");
static_assert(stream_id("a") == 0xe40c292cu, "FNV-1a test vector");
static_assert(stream_id("foobar") == 0xbf9cf968u, "FNV-1a test vector");
template <std::uint32_t Id>
struct StreamTag {
  static constexpr std::uint32_t value = Id;
};

TEST(RngStreamId, ConstexprAndDistinct) {
  constexpr std::uint32_t infection = stream_id("infection");
  static_assert(StreamTag<infection>::value == infection);
  static_assert(stream_id("infection") != stream_id("infectio"));
  EXPECT_EQ(stream_id("a"), 0xe40c292cu);
  constexpr std::array<std::string_view, 24> names{
      "infection", "recovery",     "contact", "attack", "detection", "patch",          "phish",    "click",
      "lateral",   "exfiltration", "benign",  "alert",  "triage",    "false_positive", "arrival",  "departure",
      "schedule",  "training",     "audit",   "backup", "restore",   "scan",           "mutation", "topology"};
  std::set<std::uint32_t> ids;
  for (auto n : names) ids.insert(stream_id(n));
  EXPECT_EQ(ids.size(), names.size());
  // Near-identical names differ too.
  EXPECT_NE(stream_id("ab"), stream_id("ba"));
  EXPECT_NE(stream_id("x1"), stream_id("x2"));
  EXPECT_NE(stream_id("x"), stream_id("x "));
}

}  // namespace

// -------------------------------------------------------------- quantiles

/// P(X <= k) by direct summation of the mass function, for the checks below.
double poisson_cdf(double lambda, std::uint64_t k) {
  double sum = 0;
  for (std::uint64_t j = 0; j <= k; ++j) sum += std::exp(log_poisson_pmf(lambda, j));
  return sum;
}
double binomial_cdf(std::uint64_t n, double p, std::uint64_t k) {
  double sum = 0;
  for (std::uint64_t j = 0; j <= k; ++j) sum += binomial_pmf(n, p, j);
  return sum;
}

TEST(RngQuantiles, AreTheSmallestCountWhoseCdfReachesU) {
  for (double lambda : {0.3, 11.9, 12.0, 30.0, 400.0}) {
    for (double u : {1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 - 1e-12}) {
      const std::uint64_t k = safesim::rng::poisson_quantile(u, lambda);
      EXPECT_GE(poisson_cdf(lambda, k), u - 1e-12) << lambda << " " << u;
      if (k > 0) {
        EXPECT_LT(poisson_cdf(lambda, k - 1), u + 1e-12) << lambda << " " << u;
      }
    }
  }
  for (auto [n, p] : {std::pair<std::uint64_t, double>{10, 0.3}, {200, 0.5}, {500, 0.97}, {2000, 0.02}, {3000, 0.4}}) {
    for (double u : {1e-9, 0.01, 0.3, 0.5, 0.77, 0.999}) {
      const std::uint64_t k = safesim::rng::binomial_quantile(u, n, p);
      ASSERT_LE(k, n);
      EXPECT_GE(binomial_cdf(n, p, k), u - 1e-9) << n << " " << p << " " << u;
      if (k > 0) {
        EXPECT_LT(binomial_cdf(n, p, k - 1), u + 1e-9) << n << " " << p << " " << u;
      }
    }
  }
}

// The quantiles step the mass function by its ratio to the neighbouring count
// from one exact evaluation: over many parameters and uniforms (every path:
// search from 0, from a Cornish-Fisher start up and down, down from n, p near
// 0 and near 1) the count is still the definition's, summed term by term in
// long double here.
TEST(RngQuantiles, MatchTheDefinitionOverManyParameters) {
  auto poisson_cdf_l = [](double lambda, std::uint64_t k) {
    long double sum = 0;
    for (std::uint64_t j = 0; j <= k; ++j)
      sum += std::exp(-static_cast<long double>(lambda) + j * std::log(static_cast<long double>(lambda)) -
                      std::lgamma(static_cast<long double>(j) + 1));
    return sum;
  };
  auto binomial_cdf_l = [](std::uint64_t n, double p, std::uint64_t k) {
    long double sum = 0;
    const long double ln = n, lp = p;
    for (std::uint64_t j = 0; j <= k && j <= n; ++j)
      sum += std::exp(std::lgamma(ln + 1) - std::lgamma(static_cast<long double>(j) + 1) - std::lgamma(ln - j + 1) +
                      j * std::log(lp) + (ln - j) * std::log1p(-lp));
    return sum;
  };
  Draw d(kSeed, 11, 3, 4);
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    const double u = d.uniform();
    const double lambda = std::exp(d.uniform() * std::log(5000.0)) * 0.2;  // 0.2 to 1,000, log-uniform
    const std::uint64_t k = safesim::rng::poisson_quantile(u, lambda);
    EXPECT_GE(poisson_cdf_l(lambda, k), u - 1e-12L) << lambda << " " << u;
    if (k > 0) {
      EXPECT_LT(poisson_cdf_l(lambda, k - 1), u + 1e-12L) << lambda << " " << u;
    }
    const auto n = static_cast<std::uint64_t>(1 + d.below(3000));
    double p = d.uniform();
    if (i % 5 == 0) p = 1.0 - std::pow(10.0, -1.0 - 14.0 * d.uniform());  // near 1: down from n
    if (i % 5 == 1) p = std::pow(10.0, -1.0 - 8.0 * d.uniform());         // near 0: up from 0
    const std::uint64_t b = safesim::rng::binomial_quantile(u, n, p);
    ASSERT_LE(b, n);
    EXPECT_GE(binomial_cdf_l(n, p, b), u - 1e-9L) << n << " " << p << " " << u;
    if (b > 0) {
      EXPECT_LT(binomial_cdf_l(n, p, b - 1), u + 1e-9L) << n << " " << p << " " << u;
    }
    ++checked;
  }
  // Few trials with p within 1e-15 of 1: q^n underflows, and the count is n.
  for (std::uint64_t n : {19u, 25u, 39u}) {
    EXPECT_EQ(safesim::rng::binomial_quantile(0.5, n, 1.0 - 1e-15), n);
    EXPECT_EQ(safesim::rng::binomial_quantile(1e-9, n, 1.0 - 2e-16), n);
  }
  EXPECT_EQ(checked, 3000);
}

// Common random numbers: the same uniform under a larger mean (or p) never
// gives a smaller count, and a slightly larger mean moves it only a little.
TEST(RngQuantiles, AreMonotoneInTheirParameter) {
  for (double u : {0.05, 0.4, 0.93}) {
    std::uint64_t last = 0;
    for (double lambda = 0.5; lambda < 3000; lambda *= 1.07) {
      const std::uint64_t k = safesim::rng::poisson_quantile(u, lambda);
      EXPECT_GE(k, last) << lambda;
      last = k;
    }
    last = 0;
    for (double p = 0.001; p < 1.0; p += 0.013) {
      const std::uint64_t k = safesim::rng::binomial_quantile(u, 5000, p);
      EXPECT_GE(k, last) << p;
      last = k;
    }
    const auto a = static_cast<double>(safesim::rng::poisson_quantile(u, 1000.0));
    const auto b = static_cast<double>(safesim::rng::poisson_quantile(u, 1010.0));
    EXPECT_NEAR(b - a, 10.0, 2.0);
  }
}

// Each count takes exactly one uniform, so the draws after it do not move
// when its parameter changes.
TEST(RngQuantiles, ACountTakesOneUniformWhateverItsParameter) {
  for (double lambda : {0.1, 5.0, 50.0, 5e4}) {
    Draw a(kSeed, 9, 9, 9), b(kSeed, 9, 9, 9);
    a.poisson(lambda);
    b.binomial(1000000, lambda / 1e5);
    Draw ref(kSeed, 9, 9, 9);
    ref.uniform();
    const double next = ref.uniform();
    EXPECT_EQ(a.uniform(), next) << lambda;
    EXPECT_EQ(b.uniform(), next) << lambda;
  }
}

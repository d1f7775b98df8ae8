// Counts by inversion (safesim/rng.hpp): the Poisson and binomial quantile
// functions every aggregate count in the engine is drawn with.
//
// Why inversion: a count drawn by rejection (PTRS) or through a Box-Muller
// normal uses a number of uniforms that depends on its parameters, so a
// control that changes one mean moves every later draw of the stream, and the
// same uniforms under a slightly different mean give an unrelated count.
// The quantile of one uniform does neither: a slightly different mean gives a
// slightly different count (common random numbers between scenarios).
//
// How: from a start near the answer, step with the probability mass function
// until P(X <= k) >= u > P(X <= k - 1). The start is 0 for small means (plain
// sequential search, the cheapest), else the Cornish-Fisher expansion of the
// quantile to the fourth cumulant, whose distribution function is evaluated
// exactly (Boost.Math's regularized incomplete gamma and beta functions), so
// the result is exact whatever the start; a start a few steps off costs a few
// steps.
//
// Speed: the mass function is evaluated once, at the start, and stepped by
// its ratio to the neighbouring count (one multiply and one divide a step,
// not an lgamma and an exp), and Boost.Math evaluates in double precision:
// its default promotes double arguments to long double, x87 arithmetic
// several times slower, for accuracy the search does not use (the counts are
// the same unless u falls within a few ulps of a distribution function
// value).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "safesim/rng.hpp"

namespace safesim::rng {
namespace {

/// Boost.Math in double precision (no promotion to long double).
using Double = boost::math::policies::policy<boost::math::policies::promote_float<false>,
                                             boost::math::policies::promote_double<false>>;

/// Standard normal quantile.
double normal_quantile(double u) { return -std::sqrt(2.0) * boost::math::erfc_inv(2.0 * u, Double()); }

/// Cornish-Fisher quantile of a distribution with this mean, variance,
/// skewness and excess kurtosis, rounded to the nearest count.
double cornish_fisher(double u, double mean, double var, double skew, double kurt) {
  const double z = normal_quantile(std::clamp(u, 1e-300, 1.0 - 1e-16));
  const double w = z + (z * z - 1.0) * skew / 6.0 + (z * z * z - 3.0 * z) * kurt / 24.0 -
                   (2.0 * z * z * z - 5.0 * z) * skew * skew / 36.0;
  return std::floor(mean + std::sqrt(var) * w + 0.5);
}

/// Step from k (with cdf = P(X <= k) and pmf = P(X = k)) to the smallest k'
/// with P(X <= k') >= u. up(k) is P(X = k + 1) / P(X = k), down(k) is
/// P(X = k - 1) / P(X = k).
template <class Up, class Down>
std::uint64_t settle(double u, std::uint64_t k, double cdf, double pmf, std::uint64_t max, Up up, Down down) {
  bool moved_up = false;
  while (cdf < u && k < max) {
    pmf *= up(k);
    ++k;
    const double next = cdf + pmf;
    if (next == cdf) break;  // rounding left the cdf just below u and the tail adds nothing
    cdf = next;
    moved_up = true;
  }
  if (moved_up) return k;  // P(X <= k - 1) < u: the previous step's cdf
  while (k > 0) {
    const double below = cdf - pmf;
    if (below < u) break;
    cdf = below;
    pmf *= down(k);
    --k;
  }
  return k;
}

}  // namespace

std::uint64_t poisson_quantile(double u, double mean) {
  if (!(mean > 0)) return 0;
  const auto max = static_cast<std::uint64_t>(mean + 60.0 * std::sqrt(mean) + 1000.0);
  auto up = [mean](std::uint64_t k) { return mean / static_cast<double>(k + 1); };
  auto down = [mean](std::uint64_t k) { return static_cast<double>(k) / mean; };
  if (mean < 12.0) {
    const double p0 = std::exp(-mean);
    return settle(u, 0, p0, p0, max, up, down);
  }
  const double start = std::max(0.0, cornish_fisher(u, mean, mean, 1.0 / std::sqrt(mean), 1.0 / mean));
  const auto k = static_cast<std::uint64_t>(start);
  const double dk = static_cast<double>(k);
  const double pmf = std::exp(dk * std::log(mean) - mean - log_gamma(dk + 1.0));
  return settle(u, k, boost::math::gamma_q(dk + 1.0, mean, Double()), pmf, max, up, down);
}

std::uint64_t binomial_quantile(double u, std::uint64_t n, double p) {
  if (n == 0 || !(p > 0)) return 0;
  if (p >= 1) return n;
  const double dn = static_cast<double>(n);
  const double log_p = std::log(p), log_q = std::log1p(-p);
  const double odds = p / (1.0 - p);
  auto up = [dn, odds](std::uint64_t k) {
    const auto dk = static_cast<double>(k);
    return (dn - dk) / (dk + 1.0) * odds;
  };
  auto down = [dn, odds](std::uint64_t k) {
    const auto dk = static_cast<double>(k);
    return dk / ((dn - dk + 1.0) * odds);
  };
  const double var = dn * p * (1.0 - p);
  if (dn * p < 20.0 && p < 0.5) {  // q^n >= e^-28: the first mass does not underflow
    const double p0 = std::exp(dn * log_q);
    return settle(u, 0, p0, p0, n, up, down);
  }
  double start = dn;
  if (dn * (1.0 - p) >= 20.0) {
    const double sd = std::sqrt(var);
    start =
        std::clamp(cornish_fisher(u, dn * p, var, (1.0 - 2.0 * p) / sd, (1.0 - 6.0 * p * (1.0 - p)) / var), 0.0, dn);
  }
  const auto k = static_cast<std::uint64_t>(start);
  const double dk = static_cast<double>(k);
  const double pmf =
      std::exp(log_gamma(dn + 1.0) - log_gamma(dk + 1.0) - log_gamma(dn - dk + 1.0) + dk * log_p + (dn - dk) * log_q);
  const double cdf = k >= n ? 1.0 : boost::math::ibetac(dk + 1.0, dn - dk, p, Double());
  return settle(u, k, cdf, pmf, n, up, down);
}

}  // namespace safesim::rng

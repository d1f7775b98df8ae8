// safesim: counter-based random numbers.
//
// Every random decision is a pure function of (seed, stream, entity, time,
// slot): Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy
// as 1, 2, 3") with the 64-bit seed as key and (stream, entity, time, slot) as
// the 128-bit counter. There is no generator state to share, so
//   - results do not depend on thread count or the order entities are visited;
//   - two scenarios that differ in one control draw the same numbers for every
//     decision the control does not touch (common random numbers).
// Streams are named decisions; their ids are hashes of the names, and
// streams.hpp lists every name once (a test rejects duplicates and collisions).
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace safesim::rng {

/// log Gamma(x) without std::lgamma's write to the global `signgam`, a data
/// race when runs execute on several threads (found by ThreadSanitizer).
inline double log_gamma(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

/// 32-bit FNV-1a hash of a stream name.
constexpr std::uint32_t stream_id(std::string_view name) {
  std::uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

struct Block {
  std::uint32_t v[4];
};

/// Philox4x32 with 10 rounds.
constexpr Block philox4x32(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, std::uint32_t k0,
                           std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(M0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(M1) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += W0;
    k1 += W1;
  }
  return Block{{c0, c1, c2, c3}};
}

/// A 53-bit uniform in the open interval (0, 1) from two 32-bit words.
constexpr double to_unit(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t u = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);  // 53 bits
  // u + 0.5 needs 54 bits: for u = 2^53 - 1 it rounds (ties to even) to 2^53,
  // which would give exactly 1.0; clamp to the largest double below 1.
  const double x = (static_cast<double>(u) + 0.5) * 0x1.0p-53;
  return x < 1.0 ? x : 0x1.fffffffffffffp-1;
}

/// One uniform for (seed, stream, entity, time, slot), with no cursor.
constexpr double uniform_at(std::uint64_t seed, std::uint32_t stream, std::uint32_t entity, std::uint32_t time,
                            std::uint32_t slot) {
  const Block b =
      philox4x32(stream, entity, time, slot, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  return to_unit(b.v[0], b.v[1]);
}

/// A cursor over the slots of one (seed, stream, entity, time) key: each
/// Philox block yields four 32-bit words; the slot counts blocks.
/// The smallest k with P(X <= k) >= u for X ~ Poisson(mean) (0 for a mean
/// that is not positive). Every count in the engine is drawn this way, from
/// one uniform: a count then takes exactly one uniform whatever its mean, so
/// the draws after it stay where they were when a control changes the mean,
/// and for the same uniform a larger mean never gives a smaller count. Both
/// keep common random numbers between scenarios (a design change moves counts
/// a little instead of redrawing them). Exact: sequential search from 0 below
/// mean 12, else from a Cornish-Fisher start corrected with the exact
/// distribution function (regularized incomplete gamma). In sim/src/rng.cpp.
std::uint64_t poisson_quantile(double u, double mean);
/// The smallest k with P(X <= k) >= u for X ~ Binomial(n, p), exact, from a
/// Cornish-Fisher start corrected with the regularized incomplete beta
/// function; monotone in u and in p. In sim/src/rng.cpp.
std::uint64_t binomial_quantile(double u, std::uint64_t n, double p);

class Draw {
 public:
  constexpr Draw(std::uint64_t seed, std::uint32_t stream, std::uint32_t entity, std::uint32_t time,
                 std::uint32_t first_slot = 0)
      : k0_(static_cast<std::uint32_t>(seed)),
        k1_(static_cast<std::uint32_t>(seed >> 32)),
        stream_(stream),
        entity_(entity),
        time_(time),
        slot_(first_slot) {}

  /// Next raw 32-bit word.
  std::uint32_t u32() {
    if (pos_ == 4) refill();
    return buf_.v[pos_++];
  }
  /// Uniform in (0, 1), 53 bits.
  double uniform() {
    const std::uint32_t hi = u32();
    const std::uint32_t lo = u32();
    return to_unit(hi, lo);
  }
  /// Uniform integer in [0, n) by multiply-shift (bias below n / 2^32).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(u32()) * n) >> 32);
  }
  bool bernoulli(double p) { return uniform() < p; }
  /// Exponential waiting time with the given rate (mean 1 / rate).
  double exponential(double rate) { return -std::log(uniform()) / rate; }
  /// Standard normal (Box-Muller; the second value is cached).
  double normal();
  double normal(double mean, double sd) { return mean + sd * normal(); }
  /// Log-normal with the given log-mean and log-sd.
  double lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }
  /// Gamma(shape, 1) by Marsaglia and Tsang (2000).
  double gamma(double shape);
  /// Beta(a, b) as a ratio of gammas.
  double beta(double a, double b) {
    const double x = gamma(a);
    const double y = gamma(b);
    return x / (x + y);
  }
  /// Poisson by inversion of one uniform (poisson_quantile).
  std::uint64_t poisson(double mean) { return poisson_quantile(uniform(), mean); }
  /// Binomial by inversion of one uniform (binomial_quantile).
  std::uint64_t binomial(std::uint64_t n, double p) { return binomial_quantile(uniform(), n, p); }

 private:
  void refill() {
    buf_ = philox4x32(stream_, entity_, time_, slot_++, k0_, k1_);
    pos_ = 0;
  }
  std::uint32_t k0_, k1_, stream_, entity_, time_, slot_;
  Block buf_{};
  int pos_ = 4;
  double cached_normal_ = 0;
  bool has_cached_normal_ = false;
};

inline double Draw::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  const double u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double t = 6.283185307179586 * u2;
  cached_normal_ = r * std::sin(t);
  has_cached_normal_ = true;
  return r * std::cos(t);
}

inline double Draw::gamma(double shape) {
  if (shape <= 0) return 0.0;
  if (shape < 1.0) {
    const double u = uniform();
    return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace safesim::rng

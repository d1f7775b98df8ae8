// Minors accepting strangers (docs/model/submodels/benign.md): which minors
// accepted a request or message from someone they did not know, counted per
// minor without per-minor daily work.
//
// Benign stranger contacts are drawn in aggregate (benign.cpp): per believed
// age band, contacts from unconnected adults and peers arrive at rate
// k_b(t) per minor-day after the platform's gates. A minor m answers one
// with probability a_m = min(max_accept_prob, accept_scale x v_m), as they
// would answer an offender who does not pose as a teen. So m accepts at rate
// a_m k_b(t): with an Exp(1) draw E_m, the first acceptance comes when the
// band's clock K_b(t) = integral of k_b passes E_m / a_m. Each band keeps its
// clock and its minors sorted by that time; a tick advances the clock and
// counts the minors passed, so the work per tick is the number of minors who
// accept. When controls change (believed bands move), each minor keeps the
// part of E_m / a_m not yet used and joins the new band's order. At the end
// of the warm-up every minor draws afresh (epoch 1): the process is
// memoryless, so the horizon counts minors who accepted a stranger in it.
// A minor who replied to an offender (a dyad opened) accepted a stranger
// too and is counted then (contact.cpp).
//
// Late sign-ups are in the order from the start; one whose time comes
// before the join day is not counted for benign strangers (an undercount of
// about signup_share x the share accepting before joining).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <limits>

#include "radix_sort.hpp"
#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {
constexpr std::uint8_t kNoBand = 0xFF;
constexpr std::size_t kAhead = 8;  // advance_strangers' prefetch distance, in minors
constexpr auto kAccepted = static_cast<ReachedMask>(1u << accepted_stranger);
/// Clock units (stranger contacts reaching the minor) until local minor m
/// accepts one: E_m / a_m, E_m ~ Exp(1) keyed by (user, platform, epoch).
double stranger_time(const State& s, std::size_t p, std::uint32_t m, std::uint32_t epoch) {
  const ResponseSpec& r = s.spec->response;
  const std::uint32_t user = s.platforms[p].user[m];
  const double a = std::min(r.max_accept_prob, r.accept_scale * s.pop.vulnerability[user]);
  const double e = rng::Draw(s.seed, streams::stranger, user, static_cast<std::uint32_t>(p), epoch).exponential(1);
  return a > 0 ? e / a : std::numeric_limits<double>::infinity();
}

}  // namespace

void schedule_strangers(State& s, std::size_t p, bool fresh, std::uint32_t epoch) {
  PlatformState& P = s.platforms[p];
  if (P.stranger_due.size() != P.user.size()) {
    P.stranger_due.assign(P.user.size(), std::numeric_limits<float>::infinity());
    P.stranger_band.assign(P.user.size(), kNoBand);
  }
  for (auto& late : P.stranger_late) late.clear();
  std::vector<std::uint64_t> keys, scratch;
  for (int band = 0; band < 4; ++band) {
    auto& order = P.stranger_order[static_cast<std::size_t>(band)];
    order.clear();
    P.stranger_next[static_cast<std::size_t>(band)] = 0;
    const double clock = P.stranger_clock[static_cast<std::size_t>(band)];
    for (std::uint32_t m : P.minors_by_band[static_cast<std::size_t>(band)]) {
      if ((P.reached[m] & kAccepted) != 0) continue;  // already counted in this window
      if (!fresh && P.stranger_band[m] == band) {     // same band: the same time, exactly
        order.push_back(m);
        continue;
      }
      double left;  // clock units until m accepts
      if (fresh || P.stranger_band[m] == kNoBand) {
        left = stranger_time(s, p, m, epoch);
      } else {
        left = std::max(0.0, static_cast<double>(P.stranger_due[m]) - P.stranger_clock[P.stranger_band[m]]);
      }
      P.stranger_due[m] = static_cast<float>(clock + left);
      P.stranger_band[m] = static_cast<std::uint8_t>(band);
      order.push_back(m);
    }
    // By due time, then member: sorted as packed keys (the due time's bits,
    // then m), not through the due array, which a comparator would read at
    // random. A due time is never negative or NaN (clock + left, both >= 0;
    // infinity when m never accepts), and such floats order as their bits do.
    // Members usually come in ascending order (minors_by_band is built so;
    // population.ageing moves them between bands): sort_keys then radix-sorts.
    keys.resize(order.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      keys[i] = std::uint64_t{std::bit_cast<std::uint32_t>(P.stranger_due[order[i]])} << 32 | order[i];
    scratch.resize(keys.size());
    sort_keys(keys.data(), keys.size(), scratch.data());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(keys[i]);
    P.stranger_head[static_cast<std::size_t>(band)] = PlatformState::kUnknownHead;
  }
}

void advance_strangers(State& s, std::size_t p, int band, double contacts, ScopeEffects& later) {
  PlatformState& P = s.platforms[p];
  const auto b = static_cast<std::size_t>(band);
  P.stranger_clock[b] += contacts;
  const double clock = P.stranger_clock[b];
  auto& late = P.stranger_late[b];
  if (P.stranger_head[b] > clock && late.empty()) return;  // nobody due yet
  const auto due_now = [&](std::uint32_t m) {
    if ((P.settings[m] & kRemoved) != 0 || P.join_day[m] > s.day) {
      P.stranger_due[m] = std::numeric_limits<float>::infinity();  // spent before joining: not again
      return;
    }
    mark_reached(s, p, m, accepted_stranger, later);
  };
  const auto& order = P.stranger_order[b];
  std::size_t& next = P.stranger_next[b];
  // On a large platform a tick passes many minors, each read at random
  // places: the members a few places ahead are fetched while these are done.
  const std::vector<std::uint32_t>& user = P.user;
  const auto fetch_ahead = [&](std::size_t i) {
    if (i + kAhead < order.size()) {
      const std::uint32_t m = order[i + kAhead];
      __builtin_prefetch(P.stranger_due.data() + m);
      __builtin_prefetch(P.stranger_band.data() + m);
      __builtin_prefetch(P.settings.data() + m);
      __builtin_prefetch(P.join_day.data() + m);
      __builtin_prefetch(P.reached.data() + m);
      __builtin_prefetch(user.data() + m);
    }
    if (i + kAhead / 2 < order.size()) {  // its user entry was fetched kAhead / 2 minors ago
      const std::uint32_t u = user[order[i + kAhead / 2]];
      __builtin_prefetch(s.pop.age.data() + u);
      __builtin_prefetch(s.pop.boy.data() + u);
      __builtin_prefetch(s.pop.reached.data() + u);
    }
  };
  while (next < order.size()) {
    fetch_ahead(next);
    const std::uint32_t m = order[next];
    if (P.stranger_due[m] > clock) break;
    ++next;
    if (P.stranger_band[m] != band) continue;  // moved to another band since (population.ageing)
    due_now(m);
  }
  P.stranger_head[b] = next < order.size() ? P.stranger_due[order[next]] : std::numeric_limits<float>::infinity();
  // Minors who entered the band after its order was built (population.ageing).
  while (!late.empty() && late.front().first <= clock) {
    std::pop_heap(late.begin(), late.end(), std::greater<>());
    const auto [due, m] = late.back();
    late.pop_back();
    if (P.stranger_band[m] != band || P.stranger_due[m] != due) continue;  // stale
    due_now(m);
  }
}

void stranger_enter(State& s, std::size_t p, std::uint32_t m, int band) {
  PlatformState& P = s.platforms[p];
  if (P.stranger_due.size() != P.user.size()) return;  // not scheduled yet
  if (band < 0) {                                      // left the minor pool
    P.stranger_band[m] = kNoBand;
    return;
  }
  // m may be the head of an order it was in before (as a stale entry, skipped
  // when reached, whose due time still stops the order there): read again.
  P.stranger_head.fill(PlatformState::kUnknownHead);
  const auto b = static_cast<std::size_t>(band);
  double left;  // clock units until m accepts, as in schedule_strangers
  if (P.stranger_band[m] == kNoBand) {
    left = stranger_time(s, p, m, s.day >= s.warmup && s.warmup > 0 ? 1u : 0u);  // the window's epoch
  } else {
    left = std::max(0.0, static_cast<double>(P.stranger_due[m]) - P.stranger_clock[P.stranger_band[m]]);
  }
  P.stranger_due[m] = static_cast<float>(P.stranger_clock[b] + left);
  P.stranger_band[m] = static_cast<std::uint8_t>(band);
  if ((P.reached[m] & kAccepted) != 0) return;  // already counted in this window
  P.stranger_late[b].emplace_back(P.stranger_due[m], m);
  std::push_heap(P.stranger_late[b].begin(), P.stranger_late[b].end(), std::greater<>());
}

}  // namespace safesim::detail

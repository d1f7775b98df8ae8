// Enforcement helpers (docs/model/submodels/review-enforcement.md): the review queue's front door, wrongful
// actions against ordinary users with appeals, and cross-platform signal
// sharing between participating platforms.
#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

void queue_review(State& s, std::size_t p, const Report& r, bool high_priority) {
  PlatformState& P = s.platforms[p];
  Report item = r;
  item.filed_hour = r.ready_hour;
  item.ready_hour += P.spec->controls.review.delay_hours;
  (high_priority ? P.queue_high : P.queue_normal).items.push_back(item);
}

void wrongful_actions(State& s, std::size_t p, std::uint64_t n, rng::Draw& d) {
  if (n == 0) return;
  const BenignSpec& b = s.spec->benign;
  s.add(p, Metric::false_positive_actions, static_cast<double>(n));
  const std::uint64_t appeals = d.binomial(n, b.appeal_prob);
  const std::uint64_t upheld = d.binomial(appeals, b.appeal_success);
  s.add(p, Metric::appeals, static_cast<double>(appeals));
  s.add(p, Metric::appeals_upheld, static_cast<double>(upheld));
  // Each appeal is a second review.
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  s.add(p, Metric::review_hours, static_cast<double>(appeals) * rv.minutes_per_review / 60.0);
}

void act_on_signals(State& s) {
  auto& today = s.signals_by_day[static_cast<std::size_t>(s.day)];
  for (const auto& [offender, origin] : today) {
    for (std::size_t q = 0; q < s.platforms.size(); ++q) {
      if (q == origin) continue;
      const SignalSharingSpec& ss = s.platforms[q].spec->controls.signal_sharing;
      if (!ss.participates) continue;
      rng::Draw d(s.seed, streams::signals, s.offenders.key[offender], static_cast<std::uint32_t>(q * 65536u + origin));
      bool acted = false;
      for (std::uint32_t a = s.offenders.first_account[offender]; a != kNone; a = s.accounts.next_of_offender[a]) {
        if (s.accounts.platform[a] != q || s.accounts.banned[a]) continue;
        if (d.uniform() < ss.recall) {
          ban_account(s, a, Channel::signal_sharing);
          acted = true;
        }
      }
      // Imprecise matching also hits ordinary users.
      if (acted && ss.precision < 1.0) wrongful_actions(s, q, d.poisson((1.0 - ss.precision) / ss.precision), d);
    }
  }
  today.clear();
  today.shrink_to_fit();
}

}  // namespace safesim::detail

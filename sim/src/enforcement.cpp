// Enforcement helpers (docs/model/submodels/review-enforcement.md): the review queue's front door and
// cross-platform signal sharing between participating platforms (wrongful
// actions against ordinary users, with appeals: rights.cpp).
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

// wrongful_actions: rights.cpp.

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
      if (acted && ss.precision < 1.0)
        wrongful_actions(s, q, d.poisson((1.0 - ss.precision) / ss.precision), d, Channel::signal_sharing);
    }
  }
  today.clear();
  today.shrink_to_fit();
}

}  // namespace safesim::detail

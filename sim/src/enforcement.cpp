// Enforcement helpers (docs/model/submodels/review-enforcement.md): the review queue's front door and
// cross-platform signal sharing between participating platforms (wrongful
// actions against ordinary users, with appeals: rights.cpp).
#include <algorithm>
#include <vector>

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
  std::vector<std::size_t> held;  // platforms where the offender holds an open account
  for (const auto& [offender, origin] : today) {
    // Only those can act on the signal: visited in ascending order, as a scan
    // of every platform would (a ban on one can only close accounts on others,
    // never open one), so the work is per account, not per platform.
    held.clear();
    for (std::uint32_t a = s.offenders.first_account[offender]; a != kNone; a = s.accounts.next_of_offender[a])
      if (!s.accounts.banned[a] && s.accounts.platform[a] != origin) held.push_back(s.accounts.platform[a]);
    std::sort(held.begin(), held.end());
    held.erase(std::unique(held.begin(), held.end()), held.end());
    for (const std::size_t q : held) {
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

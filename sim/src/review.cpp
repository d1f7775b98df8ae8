// Review queue and enforcement (MODEL.md 4.9-4.10).
//
// Each platform has one queue with two priority classes: child-safety reports
// (from minors, parents and detectors) before other reports (benign reports
// against ordinary users, queued in batches). Reviews per day are capped by
// `review.capacity_per_day`; a report is reviewable `review.delay_hours` after
// filing. A review reaches the right decision with probability
// `review.accuracy`: a correct decision on an offender report is a strike
// (zero tolerance: a ban at once); a wrong decision on a benign report is a
// wrongful action on an ordinary user. Backlog is the queue length at the end
// of the day.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

void review_reports(State& s, double t_end) {
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const ReviewSpec& rv = P.spec->controls.review;
    const EnforcementSpec& en = P.spec->controls.enforcement;
    P.review_budget += rv.capacity_per_day * s.dt_hours / 24.0;
    rng::Draw d(s.seed, streams::review, static_cast<std::uint32_t>(p), s.tick);
    double reviewed = 0;
    while (P.review_budget >= 1.0) {
      auto& q = !P.queue_high.empty() && P.queue_high.front().ready_hour < t_end ? P.queue_high : P.queue_normal;
      if (q.empty() || q.front().ready_hour >= t_end) break;
      Report& r = q.front();
      if (r.account == kNone) {
        // A batch of benign reports: review as many as the budget allows.
        const auto n = static_cast<std::uint32_t>(std::min<double>(r.count, std::floor(P.review_budget)));
        const std::uint64_t wrong = d.binomial(n, 1.0 - rv.accuracy);
        s.add(p, Metric::false_positive_actions, static_cast<double>(wrong));
        s.add(p, Metric::reports_actioned, static_cast<double>(wrong));
        P.review_budget -= n;
        reviewed += n;
        r.count -= n;
        if (r.count == 0) q.pop_front();
        continue;
      }
      const std::uint32_t a = r.account;
      q.pop_front();
      P.review_budget -= 1.0;
      reviewed += 1;
      if (s.accounts.banned[a] || d.uniform() >= rv.accuracy) continue;
      s.add(p, Metric::reports_actioned, 1);
      ++s.accounts.strikes[a];
      if (en.zero_tolerance || s.accounts.strikes[a] >= en.strikes_to_ban)
        ban_account(s, a, Metric::offenders_detected_user_report);
    }
    // Unused capacity does not carry over beyond one tick's worth.
    P.review_budget = std::min(P.review_budget, std::max(1.0, rv.capacity_per_day * s.dt_hours / 24.0));
    s.add(p, Metric::review_hours, reviewed * rv.minutes_per_review / 60.0);
  }
}

}  // namespace safesim::detail

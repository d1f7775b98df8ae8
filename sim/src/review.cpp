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

namespace {

/// Review one item about an offender account; true when it led to an action.
void review_account(State& s, std::size_t p, const Report& r, rng::Draw& d) {
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  const EnforcementSpec& en = s.platforms[p].spec->controls.enforcement;
  const std::uint32_t a = r.target;
  if (s.accounts.banned[a] || d.uniform() >= rv.accuracy) return;
  s.add(p, Metric::reports_actioned, 1);
  s.add(
      p,
      r.channel == Metric::offenders_detected_user_report ? Metric::actioned_by_report : Metric::actioned_by_detection,
      1);
  ++s.accounts.strikes[a];
  if (en.zero_tolerance || s.accounts.strikes[a] >= en.strikes_to_ban) ban_account(s, a, r.channel);
}

/// Review a reported or flagged copy: confirmed copies are removed, their item
/// hashed (the learning loop) and the uploader actioned.
void review_copy(State& s, std::size_t p, const Report& r, double hour, rng::Draw& d) {
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  const std::uint32_t k = r.target;
  if (s.copies.gone[k] || d.uniform() >= rv.accuracy) return;
  s.add(p, Metric::reports_actioned, 1);
  s.add(
      p,
      r.channel == Metric::offenders_detected_user_report ? Metric::actioned_by_report : Metric::actioned_by_detection,
      1);
  remove_copy(s, k, hour);
  const std::uint32_t item = s.copies.item[k];
  if (!s.items.known[item]) {
    s.items.known[item] = 1;
    s.add(p, Metric::new_material_hashed, 1);
  }
  report_to_clearinghouse(s, p, s.accounts.offender[s.copies.account[k]]);
  ban_account(s, s.copies.account[k], r.channel);
}

}  // namespace

void review_reports(State& s, double t_end) {
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const ReviewSpec& rv = P.spec->controls.review;
    P.review_budget += rv.capacity_per_day * s.dt_hours / 24.0;
    rng::Draw d(s.seed, streams::review, static_cast<std::uint32_t>(p), s.tick);
    double reviewed = 0;
    while (P.review_budget >= 1.0) {
      auto& q = !P.queue_high.empty() && P.queue_high.front().ready_hour < t_end ? P.queue_high : P.queue_normal;
      if (q.empty() || q.front().ready_hour >= t_end) break;
      Report& r = q.front();
      const double hour = std::max(r.ready_hour, s.hour);
      if (r.kind == ItemKind::benign) {
        // A batch about ordinary users: review as many as the budget allows.
        const auto n = static_cast<std::uint32_t>(std::min<double>(r.count, std::floor(P.review_budget)));
        const std::uint64_t wrong = d.binomial(n, 1.0 - rv.accuracy);
        s.add(p, Metric::reports_actioned, static_cast<double>(wrong));
        wrongful_actions(s, p, wrong, d);
        P.review_budget -= n;
        reviewed += n;
        r.count -= n;
        if (r.count == 0) q.pop_front();
        continue;
      }
      const Report item = r;
      q.pop_front();
      P.review_budget -= 1.0;
      reviewed += 1;
      if (item.kind == ItemKind::account)
        review_account(s, p, item, d);
      else
        review_copy(s, p, item, hour, d);
    }
    // Unused capacity does not carry over beyond one tick's worth.
    P.review_budget = std::min(P.review_budget, std::max(1.0, rv.capacity_per_day * s.dt_hours / 24.0));
    s.add(p, Metric::review_hours, reviewed * rv.minutes_per_review / 60.0);
  }
}

}  // namespace safesim::detail

// Review queue and enforcement (docs/model/submodels/review-enforcement.md).
//
// Each platform reviews two priority classes: child-safety items (reports
// from minors, parents and bystanders, detector flags, and trusted flaggers'
// notices sent through a priority channel) before other reports (benign
// reports against ordinary users, queued in batches, and trusted flaggers'
// notices where the platform has no channel for them). Child-safety items sit
// in two FIFO queues, each filled with one fixed delay (`queue_high` with
// `review.delay_hours`, `queue_flagger` with `trusted_flaggers.delay_hours`);
// the item that became ready first is reviewed first. Reviews per day are
// capped by `review.capacity_per_day`. A review reaches the right decision
// with probability `review.accuracy`: a correct decision on an offender
// report is a strike (zero tolerance: a ban at once); a wrong decision on a
// benign report is a wrongful action on an ordinary user. Backlog is the
// queue length at the end of the day.
//
// Service-level target (`review.sla_hours` > 0): a child-safety item should be
// reviewed within sla_hours of filing. A review in a tick happens at
// max(ready hour, start of the tick), so an item still waiting at the end of a
// tick whose deadline falls before that end has missed the SLA whatever
// happens next: it is counted as a breach then, once (`ReviewQueue::breached`
// marks the counted front of the queue), and an item reviewed after its
// deadline is counted at review. When the ordinary budget is spent, the items
// that would otherwise miss the SLA in this tick are reviewed from a surge
// budget (`review.surge_capacity_per_day`: overtime, contractors), counted in
// `surge_reviews` and `review_hours`. Surge capacity is not spent on items that
// can still be reviewed in time next tick, nor on other reports, and it cannot
// help when the SLA is shorter than the fixed delay (the item breaches before
// it is ready). Without an SLA nothing is counted and no surge is bought.
//
// Other harm categories (moderation.cpp) share the budget: their batches
// (ItemKind other_report, other_flag) join queue_high for the urgent share and
// queue_normal for the rest, are reviewed as far as the budget goes, and are
// never counted as SLA breaches. Child-safety user reports reviewed and
// actioned are counted here (child_safety_reports_reviewed, _actioned).
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {

/// Items found by someone reporting (users, trusted flaggers) or by a detector.
Metric actioned_metric(Channel channel) {
  return info(channel).found_by == FoundBy::report ? Metric::actioned_by_report : Metric::actioned_by_detection;
}

/// Review one item about an offender account; true when it led to an action.
bool review_account(State& s, std::size_t p, const Report& r, rng::Draw& d) {
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  const EnforcementSpec& en = s.platforms[p].spec->controls.enforcement;
  const std::uint32_t a = r.target;
  if (s.accounts.banned[a] || d.uniform() >= rv.accuracy) return false;
  s.add(p, Metric::reports_actioned, 1);
  s.add(p, actioned_metric(r.channel), 1);
  ++s.accounts.strikes[a];
  if (en.zero_tolerance || s.accounts.strikes[a] >= en.strikes_to_ban) ban_account(s, a, r.channel);
  return true;
}

/// Review a reported or flagged copy: confirmed copies are removed, their item
/// hashed (the learning loop) and the uploader actioned.
bool review_copy(State& s, std::size_t p, const Report& r, double hour, rng::Draw& d) {
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  const std::uint32_t k = r.target;
  if (s.copies.gone[k] || d.uniform() >= rv.accuracy) return false;
  s.add(p, Metric::reports_actioned, 1);
  s.add(p, actioned_metric(r.channel), 1);
  remove_copy(s, k, hour);
  const std::uint32_t item = s.copies.item[k];
  if (!s.items.known[item]) {
    s.items.known[item] = 1;
    s.add(p, Metric::new_material_hashed, 1);
  }
  report_copy_to_clearinghouse(s, p, k);
  ban_account(s, s.copies.account[k], r.channel);
  return true;
}

/// Other-harm batches (moderation.cpp) share the queues but are not child-safety items (no SLA).
bool other_harm(const Report& r) { return r.kind == ItemKind::other_report || r.kind == ItemKind::other_flag; }

/// Child-safety items in a queue entry: what an SLA breach counts.
double child_safety_count(const Report& r) { return other_harm(r) ? 0.0 : r.count; }

void pop_front(ReviewQueue& q) {
  q.items.pop_front();
  if (q.breached > 0) --q.breached;
}

/// Review the front item of `q` from `budget` (a benign batch as far as the
/// budget goes); returns the number of reviews. `sla` > 0 counts a review after
/// the item's deadline as a breach, unless it was counted while waiting.
double review_front(State& s, std::size_t p, ReviewQueue& q, double& budget, double sla, rng::Draw& d) {
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  Report& r = q.items.front();
  const double hour = std::max(r.ready_hour, s.hour);
  const bool late = sla > 0 && q.breached == 0 && hour > r.filed_hour + sla;
  if (other_harm(r)) {
    // A batch of other-harm reports or flags: as many as the budget allows.
    const auto n = static_cast<std::uint32_t>(std::min<double>(r.count, std::floor(budget)));
    review_other(s, p, r, n);
    budget -= n;
    r.count -= n;
    if (r.count == 0) pop_front(q);
    return n;
  }
  if (r.kind == ItemKind::benign) {
    // A batch about ordinary users: review as many as the budget allows.
    const auto n = static_cast<std::uint32_t>(std::min<double>(r.count, std::floor(budget)));
    const std::uint64_t wrong = d.binomial(n, 1.0 - rv.accuracy);
    s.add(p, Metric::reports_actioned, static_cast<double>(wrong));
    // The batch's private items are reviewed first (rights.cpp).
    const std::uint32_t seen = std::min(n, r.private_count);
    r.private_count -= seen;
    private_items_reviewed(s, p, r.channel, seen);
    wrongful_actions(s, p, wrong, d, r.channel);
    if (late) s.add(p, Metric::review_sla_breaches, n);
    budget -= n;
    r.count -= n;
    if (r.count == 0) pop_front(q);
    return n;
  }
  const Report item = r;
  pop_front(q);
  budget -= 1.0;
  if (late) s.add(p, Metric::review_sla_breaches, 1);
  // An item about an offender account or a copy draws from its own key, so a
  // queue that holds other items in another scenario does not change its fate.
  const bool account = item.kind == ItemKind::account;
  const std::uint32_t owner = account ? item.target : s.copies.account[item.target];
  rng::Draw own(s.seed, streams::review_item, s.accounts.key[owner], s.tick,
                account ? 0u : 2u + 2u * s.copies.seq[item.target]);
  const bool actioned = account ? review_account(s, p, item, own) : review_copy(s, p, item, hour, own);
  if (item.channel == Channel::user_report) {  // a child-safety user report (the child_safety_reports category)
    s.add(p, Metric::child_safety_reports_reviewed, 1);
    if (actioned) s.add(p, Metric::child_safety_reports_actioned, 1);
  }
  return 1;
}

/// The child-safety queue whose front is ready before t_end and became ready
/// first; with `due`, only fronts whose SLA deadline falls before t_end.
ReviewQueue* next_child_safety(PlatformState& P, double t_end, double sla = 0, bool due = false) {
  ReviewQueue* best = nullptr;
  for (ReviewQueue* q : {&P.queue_high, &P.queue_flagger}) {
    if (q->items.empty()) continue;
    const Report& f = q->items.front();
    if (f.ready_hour >= t_end || (due && f.filed_hour + sla >= t_end)) continue;
    if (best == nullptr || f.ready_hour < best->items.front().ready_hour) best = q;
  }
  return best;
}

}  // namespace

void review_reports(State& s, double t_end) {
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    if (P.pooled_review) continue;  // its operator's organisation reviews it (review_pooled)
    const ReviewSpec& rv = P.spec->controls.review;
    const double sla = rv.sla_hours;
    const double tick_capacity = rv.capacity_per_day * s.dt_hours / 24.0;
    P.review_budget += tick_capacity;
    rng::Draw d(s.seed, streams::review, static_cast<std::uint32_t>(p), s.tick);
    double reviewed = 0;
    while (P.review_budget >= 1.0) {
      ReviewQueue* q = next_child_safety(P, t_end);
      const bool child_safety = q != nullptr;
      if (!child_safety) q = &P.queue_normal;
      if (q->items.empty() || q->items.front().ready_hour >= t_end) break;
      reviewed += review_front(s, p, *q, P.review_budget, child_safety ? sla : 0.0, d);
    }
    // Unused capacity does not carry over beyond one tick's worth.
    P.review_budget = std::min(P.review_budget, std::max(1.0, tick_capacity));
    if (sla > 0 && rv.surge_capacity_per_day > 0) {
      // Surge: child-safety items that would miss the SLA if left to the next tick.
      const double tick_surge = rv.surge_capacity_per_day * s.dt_hours / 24.0;
      P.surge_budget += tick_surge;
      double surged = 0;
      while (P.surge_budget >= 1.0) {
        ReviewQueue* q = next_child_safety(P, t_end, sla, true);
        if (q == nullptr) break;
        surged += review_front(s, p, *q, P.surge_budget, sla, d);
      }
      P.surge_budget = std::min(P.surge_budget, std::max(1.0, tick_surge));
      s.add(p, Metric::surge_reviews, surged);
      reviewed += surged;
    }
    if (sla > 0) {
      // Child-safety items still waiting past their deadline: breached, counted once.
      for (ReviewQueue* q : {&P.queue_high, &P.queue_flagger})
        while (q->breached < q->items.size() && q->items[q->breached].filed_hour + sla < t_end)
          s.add(p, Metric::review_sla_breaches, child_safety_count(q->items[q->breached++]));
    }
    s.add(p, Metric::review_hours, reviewed * rv.minutes_per_review / 60.0);
  }
  if (!s.operators.empty()) review_pooled(s, t_end);
}

// An operator's one review organisation (operators.cpp): the services'
// capacities (and surge capacities) form one budget, spent on the
// child-safety item, of any of its services, that became ready first, then
// on other reports the same way. Each item is reviewed under its own
// service's controls (accuracy, SLA, minutes per review) and counted there;
// unused capacity carries over at most one tick's worth of the pool.
void review_pooled(State& s, double t_end) {
  for (std::size_t o = 0; o < s.operators.size(); ++o) {
    OperatorState& O = s.operators[o];
    if (O.platforms.empty() || !s.platforms[O.platforms.front()].pooled_review) continue;
    const std::size_t n = O.platforms.size();
    double tick_capacity = 0, tick_surge = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t p = O.platforms[i];
      const ReviewSpec& rv = s.platforms[p].spec->controls.review;
      tick_capacity += rv.capacity_per_day * s.dt_hours / 24.0;
      if (rv.sla_hours > 0) tick_surge += rv.surge_capacity_per_day * s.dt_hours / 24.0;
      O.draws[i] = rng::Draw(s.seed, streams::review, p, s.tick);
      O.reviewed[i] = 0;
    }
    auto sla_of = [&](std::size_t i) { return s.platforms[O.platforms[i]].spec->controls.review.sla_hours; };
    // The service whose next item became ready first (child-safety queues
    // first; `due`: only items whose SLA deadline falls in this tick).
    auto pick = [&](bool child_safety, bool due, ReviewQueue*& q) -> std::size_t {
      std::size_t best = n;
      q = nullptr;
      for (std::size_t i = 0; i < n; ++i) {
        PlatformState& P = s.platforms[O.platforms[i]];
        ReviewQueue* c = nullptr;
        if (child_safety) {
          if (due && sla_of(i) <= 0) continue;
          c = next_child_safety(P, t_end, sla_of(i), due);
        } else if (!P.queue_normal.items.empty() && P.queue_normal.items.front().ready_hour < t_end) {
          c = &P.queue_normal;
        }
        if (c != nullptr && (q == nullptr || c->items.front().ready_hour < q->items.front().ready_hour)) {
          q = c;
          best = i;
        }
      }
      return best;
    };
    O.review_budget += tick_capacity;
    while (O.review_budget >= 1.0) {
      ReviewQueue* q = nullptr;
      bool child_safety = true;
      std::size_t i = pick(true, false, q);
      if (q == nullptr) {
        child_safety = false;
        i = pick(false, false, q);
      }
      if (q == nullptr) break;
      O.reviewed[i] += review_front(s, O.platforms[i], *q, O.review_budget, child_safety ? sla_of(i) : 0.0, O.draws[i]);
    }
    O.review_budget = std::min(O.review_budget, std::max(1.0, tick_capacity));
    if (tick_surge > 0) {
      O.surge_budget += tick_surge;
      std::vector<double>& surged = O.reviewed;  // surge reviews are counted in both
      while (O.surge_budget >= 1.0) {
        ReviewQueue* q = nullptr;
        const std::size_t i = pick(true, true, q);
        if (q == nullptr) break;
        const double r = review_front(s, O.platforms[i], *q, O.surge_budget, sla_of(i), O.draws[i]);
        surged[i] += r;
        s.add(O.platforms[i], Metric::surge_reviews, r);
      }
      O.surge_budget = std::min(O.surge_budget, std::max(1.0, tick_surge));
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t p = O.platforms[i];
      PlatformState& P = s.platforms[p];
      const ReviewSpec& rv = P.spec->controls.review;
      if (rv.sla_hours > 0)
        for (ReviewQueue* q : {&P.queue_high, &P.queue_flagger})
          while (q->breached < q->items.size() && q->items[q->breached].filed_hour + rv.sla_hours < t_end)
            s.add(p, Metric::review_sla_breaches, child_safety_count(q->items[q->breached++]));
      s.add(p, Metric::review_hours, O.reviewed[i] * rv.minutes_per_review / 60.0);
    }
  }
}

}  // namespace safesim::detail

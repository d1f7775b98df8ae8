// Moderation at platform scale (docs/model/submodels/review-enforcement.md,
// "Other harm categories"): child safety is a small part of what a platform
// reviews. The other harm categories (hate, harassment, violence, nudity,
// self-harm, fraud; not spam or fake accounts) are drawn in aggregate, as
// counts per platform and tick, never per user:
//
//   violations   Poisson(users x moderation.violations_per_1k_users_day)
//   flagged      Binomial(violations, detection_share); false flags on benign
//                items Poisson(flagged x (1 - precision) / precision); a share
//                auto_action_share of all flags is actioned without review
//   reported     of the violations no detector flagged, Binomial(report_prob)
//                set out to report, and the platform's reporting friction
//                (report_completion) decides how many file
//   unfounded    the reports about content that breaks no rule are the benign
//                reports of benign.cpp (benign.false_reports_per_1k_users_day):
//                one pool of other-harm reports, founded and unfounded
//
// Reports and flags sent to review are queued in batches (ItemKind other_report
// and other_flag; `target` = violations in the batch). A share urgent_share of
// each batch is triaged urgent and joins the child-safety queue (queue_high),
// reviewed in order of arrival with child-safety items from the same budget:
// imminent-harm categories are prioritised with child safety on real platforms,
// so a surge of other reports slows child-safety review there. The rest joins
// the ordinary queue (queue_normal), reviewed only when no child-safety item
// is ready. A review reaches the right decision with moderation.review_accuracy:
// a violation is actioned, a benign item is wrongly actioned (rights.cpp
// wrongful_actions, channel user_report: no child-safety consequence).
// Rightly actioned users appeal with appeal_prob_actioned and an appeal review
// wrongly restores with 1 - review_accuracy; wrongly actioned users appeal as
// in rights.cpp. Appeals take review_hours, not the review budget, as there.
//
// Draws: volumes from stream moderation at (platform, tick); reviews and
// appeals from moderation_review at (platform, tick), one cursor a tick; so
// child-safety items, which draw from their own keys, keep their fates when
// other-harm volume changes (only the shared budget couples them).
#include <algorithm>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {

/// Violations among k items taken without replacement from n of which `good` are violations.
std::uint64_t violations_among(rng::Draw& g, std::uint64_t n, std::uint64_t good, std::uint64_t k) {
  if (good == 0) return 0;
  if (good >= n) return k;
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < k && i < n && hits < good; ++i)
    if (g.uniform() * static_cast<double>(n - i) < static_cast<double>(good - hits)) ++hits;
  return hits;
}

rng::Draw& review_draw(State& s, std::size_t p) {
  PlatformState& P = s.platforms[p];
  if (P.moderation_tick != s.tick) {
    P.moderation_draw = rng::Draw(s.seed, streams::moderation_review, static_cast<std::uint32_t>(p), s.tick);
    P.moderation_tick = s.tick;
  }
  return P.moderation_draw;
}

/// Rightful and wrongful other-harm actions, with their appeals.
void act(State& s, std::size_t p, std::uint64_t right, std::uint64_t wrong, rng::Draw& g) {
  const ModerationSpec& m = s.spec->moderation;
  const ReviewSpec& rv = s.platforms[p].spec->controls.review;
  const std::uint64_t appeals = g.binomial(right, m.appeal_prob_actioned);
  const std::uint64_t restored = g.binomial(appeals, 1.0 - m.review_accuracy);
  s.add(p, Metric::review_hours, static_cast<double>(appeals) * rv.minutes_per_review / 60.0);
  s.add(p, Metric::other_harm_wrongly_restored, static_cast<double>(restored));
  s.add(p, Metric::other_harm_restored, static_cast<double>(restored));
  s.add(p, Metric::other_harm_appeals, static_cast<double>(appeals));
  if (wrong == 0) return;
  const double before = s.m(p, Metric::appeals);
  const std::uint64_t upheld = wrongful_actions(s, p, wrong, g, Channel::user_report);
  s.add(p, Metric::other_harm_wrongful_actions, static_cast<double>(wrong));
  s.add(p, Metric::other_harm_restored, static_cast<double>(upheld));
  s.add(p, Metric::other_harm_appeals, s.m(p, Metric::appeals) - before);
}

}  // namespace

void queue_other(State& s, std::size_t p, std::uint64_t count, std::uint64_t violating, ItemKind kind, rng::Draw& d) {
  const double urgent_share = s.spec->moderation.urgent_share;
  const std::uint64_t urgent = d.binomial(count, urgent_share);
  const std::uint64_t urgent_violating = violations_among(d, count, violating, urgent);
  const auto push = [&](std::uint64_t n, std::uint64_t v, bool high) {
    if (n == 0) return;
    queue_review(
        s, p, {s.hour, static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(n), kind, Channel::user_report}, high);
  };
  push(urgent, urgent_violating, true);
  push(count - urgent, violating - urgent_violating, false);
}

void review_other(State& s, std::size_t p, Report& r, std::uint64_t n) {
  if (n == 0) return;
  const ModerationSpec& m = s.spec->moderation;
  rng::Draw& g = review_draw(s, p);
  const std::uint64_t v = violations_among(g, r.count, r.target, n);
  const std::uint64_t right = g.binomial(v, m.review_accuracy);
  const std::uint64_t wrong = g.binomial(n - v, 1.0 - m.review_accuracy);
  r.target -= static_cast<std::uint32_t>(v);
  s.add(p, Metric::reports_actioned, static_cast<double>(right + wrong));
  if (r.kind == ItemKind::other_report) {
    s.add(p, Metric::other_harm_reports_reviewed, static_cast<double>(n));
    s.add(p, Metric::other_harm_reports_actioned, static_cast<double>(right + wrong));
  } else {
    s.add(p, Metric::other_harm_proactive_actions, static_cast<double>(right + wrong));
  }
  act(s, p, right, wrong, g);
}

void other_harms(State& s) {
  const ModerationSpec& m = s.spec->moderation;
  const double dt_days = s.dt_hours / 24.0;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    const PlatformState& P = s.platforms[p];
    rng::Draw d(s.seed, streams::moderation, static_cast<std::uint32_t>(p), s.tick);
    const auto users = static_cast<double>(P.user.size());
    const std::uint64_t violations = d.poisson(users * m.violations_per_1k_users_day / 1000.0 * dt_days);
    const std::uint64_t detected = d.binomial(violations, m.detection_share);
    const std::uint64_t false_flags =
        m.detection_precision > 0
            ? d.poisson(static_cast<double>(detected) * (1.0 - m.detection_precision) / m.detection_precision)
            : 0;
    const std::uint64_t auto_right = d.binomial(detected, m.auto_action_share);
    const std::uint64_t auto_wrong = d.binomial(false_flags, m.auto_action_share);
    const std::uint64_t intended = d.binomial(violations - detected, m.report_prob);
    const std::uint64_t filed = d.binomial(intended, report_completion(s, *P.spec));
    s.add(p, Metric::other_harm_violations, static_cast<double>(violations));
    s.add(p, Metric::other_harm_flags, static_cast<double>(detected + false_flags));
    if (auto_right + auto_wrong > 0) {
      s.add(p, Metric::other_harm_proactive_actions, static_cast<double>(auto_right + auto_wrong));
      act(s, p, auto_right, auto_wrong, review_draw(s, p));
    }
    queue_other(s, p, detected - auto_right + false_flags - auto_wrong, detected - auto_right, ItemKind::other_flag, d);
    if (filed > 0) {
      s.add(p, Metric::user_reports, static_cast<double>(filed));
      s.add(p, Metric::other_harm_reports, static_cast<double>(filed));
      queue_other(s, p, filed, filed, ItemKind::other_report, d);
    }
  }
}

}  // namespace safesim::detail

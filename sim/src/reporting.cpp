// User reporting with friction (docs/model/submodels/reporting.md).
//
// A minor who sets out to report completes each step with probability
// `response.step_completion`, so completion = step_completion ^ steps, where
// steps = reporting.steps (+ response.external_form_steps when reporting is
// not in-product). Intent rises with child-friendly reporting, feedback on
// earlier reports, safety nudges and parental supervision. Every step taken,
// completed or abandoned, counts as reporting effort. Completed reports enter
// the platform's review queue after its delay.
//
// Trusted flaggers (docs/model/submodels, "trusted-flagger channel"; EU DSA
// Art. 22). Hotlines such as the IWF search public surfaces for abuse
// material themselves, whatever the platform does: content.cpp gives every
// live copy in a group a hazard content.trusted_flagger_find_per_day of being
// found (its own random stream, one notice per copy, no reporting friction).
// What the platform controls is the route a notice takes. With
// controls.trusted_flaggers.channel the notice is a child-safety item that
// enters review after trusted_flaggers.delay_hours (priority, "without undue
// delay"); without it the notice arrives like any web-form notice, in the
// normal-priority queue after review.delay_hours, behind every child-safety
// report. Either way a confirmed notice is reviewed like a reported copy
// (removal, hashing, ban, clearinghouse report) and counts as actioned by a
// report, not by a detector. Modelling notices as a finder outside the
// platform, rather than as a faster review of bystander reports, keeps the
// channel's effect where the Article puts it: on the speed of action, not on
// how much is found.
#include <array>
#include <cmath>
#include <optional>

#include "state.hpp"

namespace safesim::detail {

int report_steps(const State& s, const PlatformSpec& p) {
  const ReportingSpec& r = p.controls.reporting;
  return static_cast<int>(r.steps + (r.in_product ? 0 : s.spec->response.external_form_steps));
}

double report_completion(const State& s, const PlatformSpec& p) {
  return std::pow(s.spec->response.step_completion, report_steps(s, p));
}

double report_intent_factor(const State& s, const PlatformSpec& p, bool supervised, bool nudged, bool educated) {
  const ResponseSpec& r = s.spec->response;
  const ReportingSpec& rep = p.controls.reporting;
  double f = 1.0;
  if (rep.child_friendly) f *= r.child_friendly_factor;
  if (rep.feedback) f *= r.feedback_factor;
  if (nudged) f *= r.nudge_report_factor;
  if (supervised) f *= r.supervision_report_factor;
  if (educated) f *= p.controls.education.report_factor;
  return f;
}

void start_report(State& s, std::size_t p, std::uint32_t account, std::uint32_t minor, double hour, rng::Draw& d) {
  const PlatformSpec& spec = *s.platforms[p].spec;
  const int steps = report_steps(s, spec);
  const double c = s.spec->response.step_completion;
  int taken = 0;
  bool completed = true;
  for (int k = 0; k < steps; ++k) {
    ++taken;
    if (d.uniform() >= c) {
      completed = false;
      break;
    }
  }
  s.add(p, Metric::reporting_effort, taken);
  if (completed) file_report(s, p, account, minor, hour);
}

void file_report(State& s, std::size_t p, std::uint32_t account, std::uint32_t minor, double hour) {
  s.add(p, Metric::user_reports, 1);
  s.add(p, Metric::child_safety_reports, 1);
  s.add_minor(p, s.platforms[p].user[minor], Metric::minor_reports, 1);
  mark_reached(s, p, minor, reported_offender, account);
  remember_target(s, account, s.platforms[p].user[minor], hour, true);
  ++s.accounts.flags[account];
  add_risk(s, account, RiskEvent::flag, hour);
  queue_review(s, p, {hour, account, 1, ItemKind::account, Channel::user_report}, true);
}

void flagger_notice(State& s, std::size_t p, std::uint32_t copy, double hour) {
  PlatformState& P = s.platforms[p];
  const TrustedFlaggersSpec& tf = P.spec->controls.trusted_flaggers;
  s.add(p, Metric::trusted_flagger_reports, 1);
  const Report notice{hour, copy, 1, ItemKind::copy, Channel::trusted_flagger};
  if (!tf.channel) {
    queue_review(s, p, notice, false);  // the ordinary route
    return;
  }
  Report item = notice;
  item.filed_hour = hour;
  item.ready_hour = hour + tf.delay_hours;
  P.queue_flagger.items.push_back(item);
}

namespace {

// The distinct-minors metric each mark counts in, if any (trust and
// isolation are tracked for moves but not published).
constexpr std::array<std::optional<Metric>, kStageBits> kCounts = {Metric::minors_contacted,
                                                                   Metric::minors_engaged,
                                                                   std::nullopt,
                                                                   std::nullopt,
                                                                   Metric::minors_solicited,
                                                                   Metric::minors_exploited,
                                                                   Metric::minors_blocking,
                                                                   Metric::minors_reporting,
                                                                   Metric::minors_images_obtained,
                                                                   Metric::minors_sextorted,
                                                                   Metric::minors_met_offline,
                                                                   Metric::minors_recontacted,
                                                                   Metric::minors_accepted_stranger,
                                                                   Metric::minors_contacted_any,
                                                                   Metric::minors_solicited_any,
                                                                   Metric::minors_exploited_any,
                                                                   Metric::minors_images_obtained_any,
                                                                   Metric::minors_sextorted_any,
                                                                   Metric::minors_met_offline_any};

/// The platform's part of a mark: its distinct count and group row. Returns
/// the user (kNone when aged out, population.ageing) and their group.
std::uint32_t mark_on_platform(State& s, std::size_t p, std::uint32_t m, Stage stage, std::size_t& group) {
  const auto bit = static_cast<ReachedMask>(ReachedMask{1} << stage);
  const std::optional<Metric> metric = kCounts[stage];
  PlatformState& P = s.platforms[p];
  const std::uint32_t user = P.user[m];
  if (s.pop.age[user] >= 18) return kNone;  // aged out (population.ageing): no longer a minor
  const std::size_t slot = metric ? group_slot(*metric) : kGroupMetricCount;
  group = group_of(s.pop.age[user], s.pop.boy[user] != 0);
  if ((P.reached[m] & bit) == 0) {
    P.reached[m] |= bit;
    if (metric) s.m(p, *metric) += 1;
    if (slot < kGroupMetricCount) s.metrics.group_row(p + 1, group)[slot] += 1;
  }
  return user;
}

/// The rest of a mark: the cohort, the ecosystem's and the operator's distinct counts.
void mark_beyond_platform(State& s, std::size_t p, std::uint32_t user, Stage stage, std::size_t group) {
  const auto bit = static_cast<ReachedMask>(ReachedMask{1} << stage);
  const std::optional<Metric> metric = kCounts[stage];
  const std::size_t slot = metric ? group_slot(*metric) : kGroupMetricCount;
  cohort_mark(s, user, stage);  // population.ageing's cohort (a no-op without it)
  if ((s.pop.reached[user] & bit) == 0) {
    s.pop.reached[user] |= bit;
    if (metric) s.metrics.row(0, s.day)[idx(*metric)] += 1;
    if (slot < kGroupMetricCount) s.metrics.group_row(0, group)[slot] += 1;
  }
  const PlatformState& P = s.platforms[p];
  if (P.op != kNone) {  // distinct over the operator's services
    OperatorState& O = s.operators[P.op];
    if ((O.reached[user] & bit) == 0) {
      O.reached[user] |= bit;
      if (metric) s.metrics.row(O.scope, s.day)[idx(*metric)] += 1;
    }
  }
}

}  // namespace

void mark_reached(State& s, std::size_t p, std::uint32_t m, Stage stage) {
  std::size_t group = 0;
  const std::uint32_t user = mark_on_platform(s, p, m, stage, group);
  if (user != kNone) mark_beyond_platform(s, p, user, stage, group);
}

void mark_reached(State& s, std::size_t p, std::uint32_t m, Stage stage, ScopeEffects& later) {
  std::size_t group = 0;
  const std::uint32_t user = mark_on_platform(s, p, m, stage, group);
  if (user != kNone)
    later.push_back({.value = 0,
                     .user = user,
                     .kind = ScopeEffect::mark,
                     .stage = static_cast<std::uint8_t>(stage),
                     .what = static_cast<std::uint16_t>(group)});
}

void apply_scope_effects(State& s, std::size_t p, const ScopeEffects& effects) {
  const std::uint32_t op = s.platforms[p].op_scope;
  // A platform's marks are people read at random over the population: their
  // ecosystem (and operator) words are fetched a few marks ahead.
  constexpr std::size_t kAhead = 8;
  const std::uint32_t op_index = s.platforms[p].op;
  ReachedMask* const op_reached = op_index != kNone ? s.operators[op_index].reached.data() : nullptr;
  for (std::size_t i = 0; i < effects.size(); ++i) {
    if (i + kAhead < effects.size() && effects[i + kAhead].kind == ScopeEffect::mark) {
      const std::uint32_t ahead = effects[i + kAhead].user;
      __builtin_prefetch(s.pop.reached.data() + ahead);
      if (op_reached != nullptr) __builtin_prefetch(op_reached + ahead);
    }
    const ScopeEffect& e = effects[i];
    if (e.kind == ScopeEffect::mark) {
      mark_beyond_platform(s, p, e.user, static_cast<Stage>(e.stage), e.what);
      continue;
    }
    s.metrics.row(0, s.day)[e.what] += e.value;
    if (op != kNone) s.metrics.row(op, s.day)[e.what] += e.value;
  }
}

void mark_reached(State& s, std::size_t p, std::uint32_t m, Stage stage, std::uint32_t account) {
  // The all-perpetrator bit of a stage, if it has one.
  const Stage any = stage == contacted         ? contacted_any
                    : stage == solicitation    ? solicited_any
                    : stage == exploited       ? exploited_any
                    : stage == images_obtained ? images_obtained_any
                    : stage == sextorted       ? sextorted_any
                    : stage == met_offline     ? met_offline_any
                                               : kStageBits;
  // A peer perpetrator is a stranger too; every other stage bit is adult offenders'.
  if (!s.is_peer(account) || stage == accepted_stranger) mark_reached(s, p, m, stage);
  if (any != kStageBits) mark_reached(s, p, m, any);
}

}  // namespace safesim::detail

// User reporting with friction (MODEL.md 4.8).
//
// A minor who sets out to report completes each step with probability
// `response.step_completion`, so completion = step_completion ^ steps, where
// steps = reporting.steps (+ response.external_form_steps when reporting is
// not in-product). Intent rises with child-friendly reporting, feedback on
// earlier reports, safety nudges and parental supervision. Every step taken,
// completed or abandoned, counts as reporting effort. Completed reports enter
// the platform's review queue after its delay.
#include <cmath>

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

void start_report(State& s, std::size_t p, std::uint32_t account, double hour, rng::Draw& d) {
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
  if (completed) file_report(s, p, account, hour);
}

void file_report(State& s, std::size_t p, std::uint32_t account, double hour) {
  s.add(p, Metric::user_reports, 1);
  s.add(p, Metric::child_safety_reports, 1);
  ++s.accounts.flags[account];
  add_risk(s, account, 3.0f, hour);
  queue_review(s, p, {hour, account, 1, ItemKind::account, Metric::offenders_detected_user_report}, true);
}

void mark_reached(State& s, std::size_t p, std::uint32_t m, Stage stage) {
  const auto bit = static_cast<std::uint8_t>(1u << stage);
  PlatformState& P = s.platforms[p];
  Metric metric;
  switch (stage) {
    case contacted:
      metric = Metric::minors_contacted;
      break;
    case engaged:
      metric = Metric::minors_engaged;
      break;
    case solicitation:
      metric = Metric::minors_solicited;
      break;
    case exploited:
      metric = Metric::minors_exploited;
      break;
    default:
      metric = Metric::minors_contacted;
      break;
  }
  const bool counted = stage == contacted || stage == engaged || stage == solicitation || stage == exploited;
  if ((P.reached[m] & bit) == 0) {
    P.reached[m] |= bit;
    if (counted) s.m(p, metric) += 1;
  }
  const std::uint32_t user = P.user[m];
  if ((s.pop.reached[user] & bit) == 0) {
    s.pop.reached[user] |= bit;
    if (counted) s.metrics.row(0, s.day)[idx(metric)] += 1;
  }
}

}  // namespace safesim::detail

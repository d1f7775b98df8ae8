// Clearinghouse and law enforcement (docs/model/submodels/clearinghouse.md).
//
// A provider that reports sends one report per confirmed offender account and
// per confirmed copy, arriving after its delay. Who reports, and on what
// terms, is the reporting account's: a declared operator with reporting
// registered or unregistered overrides its services' controls; otherwise
// (per_platform, or a platform of its own) each service's
// controls.clearinghouse_reporting decide. A provider reports whatever it
// confirms, from its own detection or from users' reports (18 U.S.C. 2258A:
// actual knowledge, with no duty to scan). What an unregistered or
// non-reporting provider confirms is counted as clearinghouse_unreported.
// Bundling (clearinghouse.bundle_window_days): copies of one item that one
// reporting account confirms within the window of the first are one report;
// the later copies are files folded into it (counted in clearinghouse_files
// when they arrive, with no report and no law-enforcement case of their own).
// A report is actionable with probability equal to its provider's report
// completeness (NCMEC: about 49% of ESP reports actionable in 2022). Law
// enforcement works through actionable reports at a limited rate; each takes
// le_delay_days and needs the platform's evidence, kept for
// evidence_retention_days after the report. An action removes the offender
// from every platform for good. Reports about benign users (hash false
// positives) use capacity and lead to nothing.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {

/// The terms a platform reports on: its operator's when that operator's
/// reporting is registered or unregistered, else its own controls'.
struct ReportingTerms {
  bool reports;
  double completeness;
  double delay_days;
};

ReportingTerms reporting_terms(const State& s, std::size_t p) {
  const PlatformState& P = s.platforms[p];
  if (P.op != kNone) {
    const OperatorSpec& op = s.spec->operators[P.op];
    if (op.reporting == OperatorReporting::registered) return {true, op.completeness, op.delay_days};
    if (op.reporting == OperatorReporting::unregistered) return {false, op.completeness, op.delay_days};
  }
  const ClearinghouseReportingSpec& cr = P.spec->controls.clearinghouse_reporting;
  return {cr.enabled, cr.completeness, cr.delay_days};
}

void send(State& s, std::size_t p, std::uint32_t offender, std::uint8_t files, double delay_days) {
  const double day = static_cast<double>(s.day);
  LeCase c{day + delay_days, offender, static_cast<std::uint16_t>(p), s.platforms[p].clearinghouse_sent++,
           day + delay_days};
  c.files = files;
  s.clearinghouse_inbox.push_back(c);
}

}  // namespace

void report_to_clearinghouse(State& s, std::size_t p, std::uint32_t offender) {
  const ReportingTerms t = reporting_terms(s, p);
  if (!t.reports) {
    s.add(p, Metric::clearinghouse_unreported, 1);
    return;
  }
  send(s, p, offender, 0, t.delay_days);
}

void report_copy_to_clearinghouse(State& s, std::size_t p, std::uint32_t copy) {
  const ReportingTerms t = reporting_terms(s, p);
  if (!t.reports) {
    s.add(p, Metric::clearinghouse_unreported, 1);
    return;
  }
  const std::uint32_t offender = s.accounts.offender[s.copies.account[copy]];
  const double window = s.spec->clearinghouse.bundle_window_days;
  if (window > 0) {
    // One reporting account per operator (its scope), or the platform's own.
    const PlatformState& P = s.platforms[p];
    const std::uint64_t account = P.op_scope != kNone ? P.op_scope : p + 1;
    const std::uint64_t key = account << 32 | s.copies.item[copy];
    const double today = static_cast<double>(s.day);
    const auto [it, opened] = s.clearinghouse_bundles.try_emplace(key, today);
    if (!opened && today - it->second < window) {
      // Folded into the bundle's report: a file, arriving with this copy's delay.
      LeCase c{today + t.delay_days, offender, static_cast<std::uint16_t>(p), kNone, today + t.delay_days};
      c.files = 1;
      c.folded = true;
      s.clearinghouse_inbox.push_back(c);
      return;
    }
    it->second = today;  // a new bundle opens with this copy
  }
  send(s, p, offender, 1, t.delay_days);
}

void clearinghouse_and_law_enforcement(State& s) {
  const ClearinghouseSpec& ch = s.spec->clearinghouse;
  const double today = static_cast<double>(s.day);
  // Reports arriving today: counted, and the actionable ones queue for law enforcement.
  std::size_t keep = 0;
  auto& inbox = s.clearinghouse_inbox;
  for (std::size_t j = 0; j < inbox.size(); ++j) {
    LeCase c = inbox[j];
    if (c.ready_day > today + 1.0) {
      inbox[keep++] = c;
      continue;
    }
    const std::size_t p = c.platform;
    if (c.files > 0) s.add(p, Metric::clearinghouse_files, c.files);
    if (c.folded) continue;  // a file of an earlier report: no report, no case of its own
    s.add(p, Metric::clearinghouse_reports, 1);
    if (c.offender == kNone) s.add(p, Metric::clearinghouse_reports_benign, 1);
    const double completeness = reporting_terms(s, p).completeness;
    // Keyed by the report's platform and sequence, not its place in the inbox:
    // a change on one platform leaves every other platform's draws alone.
    rng::Draw d(s.seed, streams::clearinghouse, static_cast<std::uint32_t>(p), c.sequence);
    if (d.uniform() < completeness) {
      s.add(p, Metric::clearinghouse_actionable, 1);
      s.le_queue.push_back(c);
    }
  }
  inbox.resize(keep);
  // Law enforcement starts on actionable reports at its capacity; it needs the
  // platform's evidence, kept for evidence_retention_days after the report.
  const double capacity = ch.le_capacity_per_million_users_day * static_cast<double>(s.pop.size()) / 1e6;
  s.le_budget += capacity;
  while (s.le_budget >= 1.0 && !s.le_queue.empty()) {
    LeCase c = s.le_queue.front();
    s.le_queue.pop_front();
    s.le_budget -= 1.0;
    if (c.offender == kNone) {  // a report about a benign user: capacity spent, nothing to find
      s.add(c.platform, Metric::law_enforcement_benign_cases, 1);
      continue;
    }
    const double retention = s.platforms[c.platform].spec->controls.evidence_retention_days;
    if (today - c.reported_day > retention) {
      s.add(c.platform, Metric::evidence_expired, 1);
      continue;
    }
    c.ready_day = today + ch.le_delay_days;
    s.le_pending.push_back(c);
  }
  s.le_budget = std::min(s.le_budget, std::max(1.0, capacity));
  // Cases whose investigation ends today: action with le_action_prob.
  while (!s.le_pending.empty() && s.le_pending.front().ready_day <= today) {
    const LeCase c = s.le_pending.front();
    s.le_pending.pop_front();
    rng::Draw d(s.seed, streams::law_enforcement, s.offenders.key[c.offender],
                static_cast<std::uint32_t>(c.reported_day * 24.0));
    if (s.offenders.removed[c.offender] || d.uniform() >= ch.le_action_prob) continue;
    s.offenders.removed[c.offender] = 1;
    s.add(c.platform, Metric::law_enforcement_actions, 1);
    for (std::uint32_t a = s.offenders.first_account[c.offender]; a != kNone; a = s.accounts.next_of_offender[a])
      if (!s.accounts.banned[a]) ban_account(s, a, Channel::law_enforcement);
    check_departure(s, c.offender);
  }
}

}  // namespace safesim::detail

// Clearinghouse and law enforcement (docs/model/submodels/clearinghouse.md).
//
// A platform that reports sends one report per confirmed offender account and
// per confirmed copy, arriving after its delay. A report is actionable with
// probability equal to the platform's report completeness (NCMEC: about 49%
// of ESP reports actionable in 2022). Law enforcement works through actionable
// reports at a limited rate; each takes le_delay_days and needs the platform's
// evidence, kept for evidence_retention_days after the report. An action
// removes the offender from every platform for good. Reports about benign
// users (hash false positives) use capacity and lead to nothing.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

void report_to_clearinghouse(State& s, std::size_t p, std::uint32_t offender) {
  const ClearinghouseReportingSpec& cr = s.platforms[p].spec->controls.clearinghouse_reporting;
  if (!cr.enabled) return;
  const double day = static_cast<double>(s.day);
  s.clearinghouse_inbox.push_back({day + cr.delay_days, offender, static_cast<std::uint16_t>(p),
                                   s.platforms[p].clearinghouse_sent++, day + cr.delay_days});
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
    s.add(p, Metric::clearinghouse_reports, 1);
    if (c.offender == kNone) s.add(p, Metric::clearinghouse_reports_benign, 1);
    const double completeness = s.platforms[p].spec->controls.clearinghouse_reporting.completeness;
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

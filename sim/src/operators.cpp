// Operators (docs/how-to/operators-and-encryption.md, docs/model/entities.md):
// a company running several platforms. What its services share:
//   - one enforcement record: a ban confirmed on one service (a channel that
//     is the platform's own finding, channels.hpp) bans each of the person's
//     accounts on the operator's other services with enforcement_reach,
//     counted as offenders_detected_signal_sharing on the service that acts;
//   - one review organisation: with pooled_review the services' capacities
//     form one pool (review.cpp, review_pooled);
//   - one clearinghouse reporting account: reports are counted together in
//     the operator's scope, as the clearinghouse publishes them by company.
// The hash list is one industry list for every platform already (items.known,
// with each platform's list_coverage); signal sharing between companies is
// Lantern-like (enforcement.cpp) and unchanged.
//
// Outputs: each declared operator has a metrics scope after the platforms'.
// Flows are added to it as they happen (State::add); the distinct-minor
// counts (minors_*) count a minor once across its services; levels are the
// sums of its services' levels at the end of each day (the share of minors
// protected is the ratio of the sums); derived figures are computed from its
// own totals as for any scope. A platform no declared operator names is its
// own operator: its operator figures are its platform figures.
#include <algorithm>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

void build_operators(State& s) {
  const auto& ops = s.spec->operators;
  const std::size_t np = s.platforms.size();
  s.operators.resize(ops.size());
  for (std::size_t o = 0; o < ops.size(); ++o) {
    OperatorState& O = s.operators[o];
    O.scope = static_cast<std::uint32_t>(1 + np + o);
    O.reached.assign(s.pop.size(), 0);
    for (std::size_t p : ops[o].platforms) {
      O.platforms.push_back(static_cast<std::uint16_t>(p));
      PlatformState& P = s.platforms[p];
      P.op = static_cast<std::uint32_t>(o);
      P.op_scope = O.scope;
      P.pooled_review = ops[o].pooled_review && ops[o].platforms.size() > 1;
    }
    O.draws.assign(O.platforms.size(), rng::Draw(0, 0, 0, 0));
    O.reviewed.assign(O.platforms.size(), 0.0);
  }
}

void enforce_across_operator(State& s, std::uint32_t a) {
  Accounts& A = s.accounts;
  const std::size_t p = A.platform[a];
  const std::uint32_t op = s.platforms[p].op;
  if (op == kNone) return;
  const double reach = s.spec->operators[op].enforcement_reach;
  if (reach <= 0) return;
  for (std::uint32_t b = s.offenders.first_account[A.offender[a]]; b != kNone; b = A.next_of_offender[b]) {
    if (A.banned[b] || A.platform[b] == p || s.platforms[A.platform[b]].op != op) continue;
    // Keyed by the two accounts: the same pair decides the same way in every scenario.
    if (rng::uniform_at(s.seed, streams::operator_record, A.key[b], A.key[a], 0) < reach)
      ban_account(s, b, Channel::signal_sharing);  // not confirmed there: no second report, no further reach
  }
}

void operator_levels(State& s) {
  for (OperatorState& O : s.operators) {
    double* row = s.metrics.row(O.scope, s.day);
    double protected_all = 0, active_all = 0;
    for (std::size_t k = 0; k < kMetricCount; ++k)
      if (kMetrics[k].kind == MetricKind::level) row[k] = 0;
    for (const std::uint16_t p : O.platforms) {
      const double* prow = s.metrics.row(p + 1, s.day);
      for (std::size_t k = 0; k < kMetricCount; ++k)
        if (kMetrics[k].kind == MetricKind::level) row[k] += prow[k];
      protected_all += static_cast<double>(s.platforms[p].minors_protected);
      active_all += static_cast<double>(s.platforms[p].minors_active);
    }
    row[idx(Metric::minors_protected_share)] = active_all > 0 ? protected_all / active_all : 0.0;
  }
}

OperatorPeople operator_people(const State& s, std::size_t op) {
  std::vector<std::uint8_t> present(s.pop.size(), 0);
  for (const std::uint16_t p : s.operators[op].platforms) {
    const PlatformState& P = s.platforms[p];
    for (std::size_t k = 0; k < P.user.size(); ++k)
      if ((P.settings[k] & kRemoved) == 0 && (!s.ageing.on || P.join_day[k] <= s.day)) present[P.user[k]] = 1;
  }
  OperatorPeople n;
  for (std::uint8_t here : present) n.users += here;
  // With population.ageing: those on a service at the end, minors by their age then.
  for (std::uint32_t u : s.pop.minors) n.minors += present[u] != 0 && s.pop.age[u] < 18 ? 1 : 0;
  return n;
}

}  // namespace safesim::detail

// Dyad progression (MODEL.md 4.5): engaged -> trust -> isolation ->
// solicitation -> exploited, in continuous time.
//
// In each open stage a dyad faces competing hazards (per hour):
//   progress  1 / dwell_hours[stage]                       (offender type)
//   exit      exit_per_day[stage] / 24 * (1 - vulnerability) (minor stops)
//   report    report_per_day[stage] / 24 * intent factor * completion
//             (0 once the conversation has moved off the platform)
// The next event time is exponential with the total rate and the event is
// chosen in proportion to the rates: an exact simulation of a continuous-time
// absorbing Markov chain, so results do not depend on the tick length, and
// the chain's outcome probabilities have a closed form (fundamental matrix).
// On entering isolation the offender asks to move the conversation; if the
// minor agrees the origin platform no longer sees it. Exploitation closes the
// dyad, except that sextortion demands repeat with probability repeat_prob.
// A ban closes the account's dyads still on the platform; moved ones go on.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

struct Hazards {
  double progress, exit, report;
  double total() const { return progress + exit + report; }
};

double stage_value(const StageHours& h, std::uint8_t stage) {
  switch (stage) {
    case engaged: return h.engaged;
    case trust: return h.trust;
    case isolation: return h.isolation;
    default: return h.solicitation;
  }
}
double stage_value(const StageRates& r, std::uint8_t stage) {
  switch (stage) {
    case engaged: return r.engaged;
    case trust: return r.trust;
    case isolation: return r.isolation;
    default: return r.solicitation;
  }
}

Hazards hazards(const State& s, std::size_t i) {
  const Dyads& D = s.dyads;
  const std::uint32_t a = D.account[i];
  const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
  const PlatformState& P = s.platforms[D.platform[i]];
  const std::uint32_t m = D.minor[i];
  const std::uint8_t stage = D.stage[i];
  const double v = s.pop.vulnerability[P.user[m]];
  Hazards h{};
  h.progress = 1.0 / stage_value(t.dwell_hours, stage);
  h.exit = stage_value(t.exit_per_day, stage) / 24.0 * (1.0 - v);
  if (!D.moved[i]) {
    const bool supervised = (P.settings[m] & kSupervised) != 0;
    h.report = stage_value(t.report_per_day, stage) / 24.0 * report_intent_factor(s, *P.spec, supervised, false) *
               report_completion(s, *P.spec);
  }
  return h;
}

rng::Draw dyad_draw(const State& s, std::size_t i) {
  const Dyads& D = s.dyads;
  const PlatformState& P = s.platforms[D.platform[i]];
  const std::uint32_t slot = (static_cast<std::uint32_t>(D.start_day[i]) << 16) | D.events[i];
  return rng::Draw(s.seed, streams::dyad, P.user[D.minor[i]], s.accounts.key[D.account[i]], slot * 2u);
}

void close_dyad(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  --s.accounts.open_dyads[D.account[i]];
  const std::size_t last = D.size() - 1;
  if (i != last) {
    D.account[i] = D.account[last];
    D.minor[i] = D.minor[last];
    D.platform[i] = D.platform[last];
    D.stage[i] = D.stage[last];
    D.moved[i] = D.moved[last];
    D.events[i] = D.events[last];
    D.start_day[i] = D.start_day[last];
    D.next_hour[i] = D.next_hour[last];
    D.last_hour[i] = D.last_hour[last];
  }
  D.account.pop_back();
  D.minor.pop_back();
  D.platform.pop_back();
  D.stage.pop_back();
  D.moved.pop_back();
  D.events.pop_back();
  D.start_day.pop_back();
  D.next_hour.pop_back();
  D.last_hour.pop_back();
}

/// Apply the dyad's next event; returns false when the dyad closed.
bool fire_event(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  const Hazards h = hazards(s, i);
  rng::Draw d = dyad_draw(s, i);
  d.uniform();  // the first uniform of the block timed this event (schedule_dyad)
  const double u = d.uniform() * h.total();
  const double u_extra = d.uniform();  // move or repeat decision
  const double hour = D.next_hour[i];
  ++D.events[i];
  const std::size_t p = D.platform[i];
  const std::uint32_t a = D.account[i];
  if (u < h.progress) {
    const auto next = static_cast<Stage>(D.stage[i] + 1);
    if (next == exploited) {
      mark_reached(s, p, D.minor[i], exploited);
      s.add(p, Metric::exploitation_events, 1);
      const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
      if (u_extra < t.repeat_prob) return true;  // a repeat demand: back in solicitation
      close_dyad(s, i);
      return false;
    }
    D.stage[i] = next;
    mark_reached(s, p, D.minor[i], next);
    if (next == isolation) {
      const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
      if (u_extra < t.move_request_prob * t.move_accept_prob) {
        D.moved[i] = 1;
        s.add(p, Metric::moved_off_platform, 1);
      }
    }
    return true;
  }
  if (u < h.progress + h.exit) {
    close_dyad(s, i);
    return false;
  }
  file_report(s, p, a, hour);
  close_dyad(s, i);
  return false;
}

}  // namespace

void schedule_dyad(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  const Hazards h = hazards(s, i);
  rng::Draw d = dyad_draw(s, i);
  D.next_hour[i] += -std::log(d.uniform()) / h.total();
}

void progress_dyads(State& s, double t_end) {
  Dyads& D = s.dyads;
  std::size_t i = 0;
  while (i < D.size()) {
    const std::size_t p = D.platform[i];
    if (s.accounts.banned[D.account[i]] && !D.moved[i]) {
      // The account is gone from the platform: its on-platform conversations end.
      s.add(p, Metric::exposure_days, std::max(0.0, s.hour - D.last_hour[i]) / 24.0);
      close_dyad(s, i);
      continue;
    }
    bool open = true;
    while (D.next_hour[i] < t_end) {
      s.add(p, Metric::exposure_days, (D.next_hour[i] - D.last_hour[i]) / 24.0);
      D.last_hour[i] = D.next_hour[i];
      if (!fire_event(s, i)) {
        open = false;
        break;
      }
      schedule_dyad(s, i);
    }
    if (!open) continue;  // slot i now holds another dyad
    s.add(p, Metric::exposure_days, (t_end - D.last_hour[i]) / 24.0);
    D.last_hour[i] = t_end;
    ++i;
  }
}

}  // namespace safesim::detail

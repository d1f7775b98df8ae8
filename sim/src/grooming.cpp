// Dyad progression (docs/model/submodels/dyads.md): engaged -> trust -> isolation ->
// solicitation -> exploited, in continuous time.
//
// What an exploitation is: at a dyad's first exploitation one uniform picks
// its kind from the offender type's shares (exploitation_kind): a sextortion
// demand, an offline meeting, or images obtained with neither. A demand
// counts images obtained too unless the leverage is harvested public images.
// Only exploitations that obtain images create new material. Repeats keep
// the kind (repeated demands, meetings or images).
//
// In each open stage a dyad faces competing hazards (per hour):
//   progress  1 / dwell_hours[stage]                       (offender type)
//   exit      exit_per_day[stage] / 24 * (1 - vulnerability) (minor stops)
//   report    report_per_day[stage] / 24 * intent factor * completion
//             (0 once the conversation has moved off the platform)
// Each hazard has its own clock: an exponential time drawn from its own keyed
// uniform (the dyad_clock stream), and the next event is the one whose clock
// runs out first. The minimum of independent exponentials is exponential with
// the total rate and names each hazard in proportion to its rate, so this is
// an exact simulation of a continuous-time absorbing Markov chain: results do
// not depend on the tick length, and the chain's outcome probabilities have a
// closed form (fundamental matrix). Separate clocks are for common random
// numbers: a design that changes one hazard (a higher report rate, detection
// switched on, a shield slowing exploitation) moves that clock alone, so the
// dyad's other events keep their times and kinds in both arms. A single
// exponential at the total rate, split by one uniform, would move every event
// time and relabel events near the split points.
// On entering isolation the offender asks to move the conversation; if the
// minor agrees the origin platform no longer sees it. Exploitation closes the
// dyad, except that sextortion demands repeat with probability repeat_prob.
// A ban closes the account's dyads still on the platform; moved ones go on.
//
// Harvested images (download_restrictions, docs/model/submodels). A sextortion
// offender who can save a minor's public images has leverage without asking
// for anything: threats to spread manipulated versions of them (FBI public
// service announcement, June 2023). When a sextortion dyad opens on a profile
// that is public, the offender saves images (contact.cpp), unless the
// platform blocks downloads of content by believed minors; then only the
// response.download_circumvention share gets them anyway (screenshots). The
// flag stays with the dyad when the conversation moves, since the images are
// already saved. In solicitation a harvested dyad progresses to exploitation
// at harvest_leverage_factor times the rate. We put the effect on that one
// rate, not on contact or reply, because the images change what the offender
// can demand, not who answers; unlike the shield it applies off the platform
// too. The oracle mixes over the harvested share (oracle.hpp).
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

struct Hazards {
  double progress, exit, report, detect;
};

Hazards hazards(const State& s, std::size_t i) {
  const Dyads& D = s.dyads;
  const std::uint32_t a = D.account[i];
  const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
  const PlatformState& P = s.platforms[D.platform[i]];
  const std::uint32_t m = D.minor[i];
  const std::uint8_t stage = D.stage[i];
  const double v = s.pop.vulnerability[P.user[m]];
  Hazards h{};
  h.progress = 1.0 / t.dwell_hours.at(stage - engaged);
  // A sensitive-media shield blurs nudity sent to a believed minor on a platform that has one.
  const SensitiveMediaShield& shield = P.spec->controls.sensitive_media_shield;
  if (stage == solicitation && shield.enabled && D.moved[i] != kOffAllPlatforms && P.believed_age[m] < 18)
    h.progress *= shield.exploit_factor;
  if (stage == solicitation && D.harvested[i]) h.progress *= s.spec->response.harvest_leverage_factor;
  h.exit = t.exit_per_day.at(stage - engaged) / 24.0 * (1.0 - v);
  if (D.moved[i] != kOffAllPlatforms) {
    const bool supervised = (P.settings[m] & kSupervised) != 0;
    const bool educated = (P.settings[m] & kEducated) != 0;
    h.report = t.report_per_day.at(stage - engaged) / 24.0 *
               report_intent_factor(s, *P.spec, supervised, false, educated) * report_completion(s, *P.spec);
    const GroomingDetectionSpec& g = P.spec->controls.grooming_detection;
    if (g.enabled && readable(P.spec->controls, D.e2ee_u[i])) h.detect = g.recall_per_day.at(stage - engaged) / 24.0;
  }
  return h;
}

/// The dyad's draws for its next event on `stream` (the dyad stream: the move or repeat and the kind of
/// exploitation; dyad_clock: the four clocks), at the same position in both.
rng::Draw dyad_draw(const State& s, std::size_t i, std::uint32_t stream) {
  const Dyads& D = s.dyads;
  const PlatformState& P = s.platforms[D.platform[i]];
  const DyadRngPosition at = dyad_rng_position(s.accounts.key[D.account[i]], D.start_day[i], D.events[i]);
  return rng::Draw(s.seed, stream, P.user[D.minor[i]], at.time, at.slot);
}

enum class Event : std::uint8_t { progress, exit, detect, report };

/// The hours until each hazard's clock runs out, from one uniform each (in the order progress, exit,
/// report, detect), and which runs out first. A hazard of 0 never fires.
struct Clocks {
  double hours;
  Event first;
};
Clocks next_event(const State& s, std::size_t i, const Hazards& h) {
  rng::Draw d = dyad_draw(s, i, streams::dyad_clock);
  const double e_progress = -std::log(d.uniform()), e_exit = -std::log(d.uniform());
  const double e_report = -std::log(d.uniform()), e_detect = -std::log(d.uniform());
  Clocks c{e_progress / h.progress, Event::progress};
  const auto race = [&c](double e, double rate, Event ev) {
    if (rate > 0 && e / rate < c.hours) c = {e / rate, ev};
  };
  race(e_exit, h.exit, Event::exit);
  race(e_detect, h.detect, Event::detect);
  race(e_report, h.report, Event::report);
  return c;
}

void close_dyad(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  --s.accounts.open_dyads[D.account[i]];
  D.swap_remove(i);
}

/// At isolation the conversation moves: to a messaging service in the
/// ecosystem where the minor has an account (the most encrypted one), where
/// that platform's reporting and detection apply, or off all platforms.
void move_conversation(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  const std::uint32_t user = s.platforms[D.platform[i]].user[D.minor[i]];
  std::size_t best = kNone;
  double best_e2ee = -1;
  for (std::size_t q = 0; q < s.platforms.size(); ++q) {
    if (q == D.platform[i] || s.platforms[q].spec->kind != PlatformKind::messaging) continue;
    const std::uint32_t local = s.platforms[q].local_of[user];
    if (local == kNone || (s.platforms[q].settings[local] & kRemoved) != 0) continue;
    if (s.platforms[q].spec->controls.e2ee_share > best_e2ee) {
      best = q;
      best_e2ee = s.platforms[q].spec->controls.e2ee_share;
    }
  }
  const std::uint32_t a = D.account[i];
  const std::uint32_t dest_account = best == kNone ? kNone : account_on(s, s.accounts.offender[a], best);
  if (dest_account == kNone) {
    D.moved[i] = kOffAllPlatforms;
    return;
  }
  --s.accounts.open_dyads[a];
  ++s.accounts.open_dyads[dest_account];
  D.account[i] = dest_account;
  D.platform[i] = static_cast<std::uint16_t>(best);
  D.minor[i] = s.platforms[best].local_of[user];
  D.moved[i] = kMovedInEcosystem;
  mark_reached(s, best, D.minor[i], contacted, dest_account);
  mark_reached(s, best, D.minor[i], engaged, dest_account);
  mark_reached(s, best, D.minor[i], trust, dest_account);
  mark_reached(s, best, D.minor[i], isolation, dest_account);
}

/// What a first exploitation is, from one uniform: a sextortion demand with
/// probability sextortion_share (the images come from the minor unless the
/// offender already holds harvested ones), an offline meeting with
/// probability meeting_share, otherwise images obtained with neither.
std::uint8_t exploitation_kind(const OffenderTypeSpec& t, bool harvested, double u) {
  if (u < t.sextortion_share) return static_cast<std::uint8_t>(harvested ? kDemand : kDemand | kImages);
  if (u < t.sextortion_share + t.meeting_share) return static_cast<std::uint8_t>(kMeeting);
  return static_cast<std::uint8_t>(kImages);
}

/// Exploitation that obtains images creates new material; some of it is shared on the platform.
void create_material(State& s, std::size_t i, double hour, rng::Draw& d) {
  const ContentSpec& c = s.spec->content;
  const std::uint64_t n = d.poisson(c.new_items_per_exploitation);
  for (std::uint64_t k = 0; k < n; ++k) {
    const std::uint32_t item = new_item(s, false);
    const SensitiveMediaShield& shield = s.platforms[s.dyads.platform[i]].spec->controls.sensitive_media_shield;
    const double share = c.exploitation_share_prob * (shield.enabled ? shield.forward_factor : 1.0);
    if (s.dyads.moved[i] != kOffAllPlatforms && d.uniform() < share) upload_copy(s, s.dyads.account[i], item, hour, d);
  }
}

/// Apply the dyad's next event; returns false when the dyad closed.
bool fire_event(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  // The clocks as schedule_dyad drew them, raced again under today's hazards: when nothing changed
  // since, the first to run out is the one that timed this event.
  const Event event = next_event(s, i, hazards(s, i)).first;
  rng::Draw d = dyad_draw(s, i, streams::dyad);
  const double u_extra = d.uniform();  // move or repeat decision
  const double u_kind = d.uniform();   // what a first exploitation is
  const double hour = D.next_hour[i];
  ++D.events[i];
  const std::size_t p = D.platform[i];
  const std::uint32_t a = D.account[i];
  if (event == Event::progress) {
    const auto next = static_cast<Stage>(D.stage[i] + 1);
    if (next == exploited) {
      const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
      if (D.outcome[i] == 0) {
        s.add(p, Metric::dyads_exploited, 1);
        D.outcome[i] = exploitation_kind(t, D.harvested[i] != 0, u_kind);
      }
      mark_reached(s, p, D.minor[i], exploited, a);
      if (D.outcome[i] & kImages) mark_reached(s, p, D.minor[i], images_obtained, a);
      if (D.outcome[i] & kDemand) mark_reached(s, p, D.minor[i], sextorted, a);
      if (D.outcome[i] & kMeeting) mark_reached(s, p, D.minor[i], met_offline, a);
      if (D.outcome[i] & kImages) {
        rng::Draw md(s.seed, streams::material, s.platforms[p].user[D.minor[i]], s.accounts.key[a], D.events[i]);
        create_material(s, i, hour, md);
      }
      s.add_by(a, p, s.platforms[p].user[D.minor[i]], Metric::exploitation_events, 1);
      if (u_extra < t.repeat_prob) return true;  // a repeat: back in solicitation
      close_dyad(s, i);
      return false;
    }
    D.stage[i] = next;
    mark_reached(s, p, D.minor[i], next, a);
    if (next == isolation) {
      const OffenderTypeSpec& t = s.type_spec(s.accounts.type[a]);
      if (u_extra < t.move_request_prob * t.move_accept_prob) {
        s.add(p, Metric::moved_off_platform, 1);
        move_conversation(s, i);
      }
    }
    return true;
  }
  if (event == Event::exit) {
    s.add(p, Metric::dyads_exited, 1);
    close_dyad(s, i);
    return false;
  }
  if (event == Event::detect) {
    // The platform intervenes in the conversation and sends the account to review.
    s.add(p, Metric::dyads_detected, 1);
    s.add(p, Metric::detections, 1);
    queue_review(s, p, {hour, a, 1, ItemKind::account, Channel::grooming}, true);
    close_dyad(s, i);
    return false;
  }
  s.add(p, Metric::dyads_reported, 1);
  file_report(s, p, a, D.minor[i], hour);
  close_dyad(s, i);
  return false;
}

/// Exposure of dyad i from its last accounting up to `hour`, charged where
/// the conversation is: its current platform, or the platform it left when it
/// moved off all platforms (then also counted as exposure_days_off_platform).
void add_exposure(State& s, std::size_t i, double hour) {
  Dyads& D = s.dyads;
  const double days = std::max(0.0, hour - D.last_hour[i]) / 24.0;
  s.add_by(D.account[i], D.platform[i], s.platforms[D.platform[i]].user[D.minor[i]], Metric::exposure_days, days);
  if (D.moved[i] == kOffAllPlatforms && !s.is_peer(D.account[i]))  // the part of exposure_days: adult offenders'
    s.add(D.platform[i], Metric::exposure_days_off_platform, days);
  D.last_hour[i] = hour;
}

}  // namespace

void schedule_dyad(State& s, std::size_t i) {
  Dyads& D = s.dyads;
  D.next_hour[i] += next_event(s, i, hazards(s, i)).hours;
}

void progress_dyads(State& s, double t_end) {
  Dyads& D = s.dyads;
  std::size_t i = 0;
  while (i < D.size()) {
    if (s.accounts.banned[D.account[i]] && D.moved[i] != kOffAllPlatforms) {
      // The account is gone from the platform: its on-platform conversations end.
      add_exposure(s, i, s.hour);
      s.add(D.platform[i], Metric::dyads_ended_by_ban, 1);
      remember_target(s, D.account[i], s.platforms[D.platform[i]].user[D.minor[i]], s.hour, false);
      close_dyad(s, i);
      continue;
    }
    bool open = true;
    while (D.next_hour[i] < t_end) {
      // An event may move the conversation: exposure up to it stays where it was.
      add_exposure(s, i, D.next_hour[i]);
      if (!fire_event(s, i)) {
        open = false;
        break;
      }
      schedule_dyad(s, i);
    }
    if (!open) continue;  // slot i now holds another dyad
    add_exposure(s, i, t_end);
    ++i;
  }
}

/// population.ageing: a minor turning 18 leaves the minor pool, and so do
/// their open conversations with offenders: exposure is charged up to the
/// birthday (day start), then each is ended and counted in dyads_aged_out.
/// The offender keeps the connection (he does not come back for an adult).
void close_dyads_aged_out(State& s, const std::vector<std::uint32_t>& users) {
  Dyads& D = s.dyads;
  for (std::size_t i = 0; i < D.size();) {
    const std::uint32_t user = s.platforms[D.platform[i]].user[D.minor[i]];
    if (!std::binary_search(users.begin(), users.end(), user)) {
      ++i;
      continue;
    }
    add_exposure(s, i, s.hour);
    s.add(D.platform[i], Metric::dyads_aged_out, 1);
    close_dyad(s, i);  // the last dyad moves into i: look at i again
  }
}

}  // namespace safesim::detail

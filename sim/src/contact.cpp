// Contact and response (docs/model/submodels/discovery-contact.md): each active offender account makes
// Poisson-many attempts per tick; each attempt discovers a candidate, passes
// (or is stopped by) the contact controls, and the minor responds.
//
// Contact controls, in the order a platform applies them:
//   suspicious_adult_restrictions  flagged adults cannot reach believed minors
//   request_filtering              daily limit of requests to minors
//     (these two are offender-only and live here: they read an account's
//     flags and counters)
//   age_band_segregation, mutuals_required, dm_policy by believed band
//     (the gates shared with the benign path, written once in gates.hpp:
//     gate_contact builds them with contact_gate and samples them with
//     sample_gate, so contacts_prevented and legit_contacts_blocked come from
//     the same rules)
// A contact found in a shared group is, for response.group_add_share of them, a
// group-chat add: it skips the DM policy and mutuals filter and meets only
// segregation and group_add_consent (gates.hpp: group_add_stopped).
// Every attempt draws two uniforms from its reach stream, u_seen then
// u_fallback, whatever the outcome, so each random number keeps its slot.
// What the platform believes about ages decides which minors are protected; an
// account posing as a teen escapes the adult-only restrictions.
#include <algorithm>

#include "gates.hpp"
#include "parallel.hpp"
#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

/// The gates for offender account a reaching local minor m, decided with the
/// attempt's draw d. The offender-only controls come first, then the gates
/// shared with the benign path (gates.hpp).
GateResult gate_contact(State& s, std::uint32_t a, std::uint32_t m, rng::Draw& d, bool group_add) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  const ControlsSpec& c = P.spec->controls;
  const int minor_believed = P.believed_age[m];
  const int account_believed = s.accounts.believed_age[a];
  const bool protected_minor = minor_believed < 18;
  const bool adult_account = account_believed >= 18;
  // Both uniforms are drawn whatever the outcome, in this order (slots of d).
  const double u_seen = d.uniform();
  const double u_fallback = d.uniform();
  if (protected_minor && adult_account && c.suspicious_adult_restrictions.enabled &&
      s.accounts.flags[a] >= c.suspicious_adult_restrictions.flag_threshold)
    return {Gate::prevented, 0, false};
  if (protected_minor && adult_account && c.request_filtering.daily_limit_to_minors > 0) {
    if (s.accounts.requests_today[a] >= c.request_filtering.daily_limit_to_minors) return {Gate::prevented, 0, false};
    ++s.accounts.requests_today[a];
  }
  if (group_add) {
    // Added to a group chat: no DM policy or mutuals filter, only segregation and group-add consent.
    const AgeBand sender = band_of(account_believed), minor = band_of(minor_believed);
    if (segregated(c, sender, minor, Link::stranger) || group_add_stopped(c, sender, minor))
      return {Gate::prevented, 0, false};
    return {Gate::reached, 1.0, false};
  }
  const ContactGate g =
      contact_gate(c, s.spec->response, band_of(account_believed), band_of(minor_believed), Link::stranger);
  const bool has_mutual = !g.needs_mutual || mutual_connections(s, a, m) > 0;
  return sample_gate(g, has_mutual, u_seen, u_fallback);
}

bool preferred(const State& s, const OffenderTypeSpec& t, std::uint32_t user, rng::Draw& d) {
  const int age = s.pop.age[user];
  const bool in_range = age >= t.target_age_min && age <= t.target_age_max;
  const double boys = t.target_boys_share;
  const double w = (s.pop.boy[user] ? boys : 1.0 - boys) / std::max(boys, 1.0 - boys);
  const double keep = (in_range ? 1.0 : 1.0 - t.target_selectivity) * (1.0 - t.target_selectivity * (1.0 - w));
  return d.uniform() < keep;
}

void open_dyad(State& s, std::uint32_t a, std::uint32_t m, double hour);

void respond(State& s, std::uint32_t a, std::uint32_t m, const GateResult& g, double hour, std::uint32_t slot) {
  const std::size_t p = s.accounts.platform[a];
  const PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const ResponseSpec& r = s.spec->response;
  const std::uint32_t user = P.user[m];
  const bool supervised = (P.settings[m] & kSupervised) != 0;
  const bool nudged =
      c.safety_nudges.enabled && P.believed_age[m] < 18 && protects_against(c, s.accounts.believed_age[a] >= 18, false);
  const bool disguised = s.accounts.claimed_age[a] < 18;
  const bool educated = (P.settings[m] & kEducated) != 0;
  const EducationSpec& edu = c.education;
  rng::Draw d(s.seed, streams::response, user, s.accounts.key[a], s.tick * 4u + slot);
  const double p_accept =
      std::min(r.max_accept_prob,
               r.accept_scale * s.pop.vulnerability[user] * (disguised ? r.teen_disguise_factor : 1.0) *
                   (nudged ? r.nudge_accept_factor : 1.0) * (educated ? edu.accept_factor : 1.0) * g.reply_factor);
  const double p_block =
      std::min(1.0, r.block_prob * (nudged ? r.nudge_block_factor : 1.0) * (educated ? edu.block_factor : 1.0));
  const double p_intent =
      std::min(1.0, r.report_intent * report_intent_factor(s, *P.spec, supervised, nudged, educated));
  const double u_accept = d.uniform(), u_block = d.uniform(), u_intent = d.uniform(), u_combined = d.uniform();
  if (u_accept < p_accept) {
    open_dyad(s, a, m, hour);
    return;
  }
  if (u_block < p_block) {
    s.add_by(a, p, user, Metric::minor_blocks, 1);
    mark_reached(s, p, m, blocked_offender, a);
    ++s.accounts.flags[a];
    add_risk(s, a, RiskEvent::flag, hour);
    s.blocked_pairs.insert((static_cast<std::uint64_t>(s.accounts.key[a]) << 32) | user);
    remember_target(s, a, user, hour, true);
    if (c.reporting.combined_block_report && u_combined < r.combined_report_share) {
      s.add(p, Metric::reporting_effort, 1);
      file_report(s, p, a, m, hour);
    }
    return;
  }
  if (u_intent < p_intent) start_report(s, p, a, m, hour, d);
}

/// Does a sextortion offender save the minor's images when the dyad opens?
/// Only from a public profile; download restrictions for a believed minor stop
/// it except for the circumvention share (screenshots). See grooming.cpp.
bool harvests_images(const State& s, std::uint32_t a, std::uint32_t m) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  if (s.accounts.type[a] != 1 || (P.settings[m] & kPrivate) != 0) return false;
  if (!P.spec->controls.download_restrictions || P.believed_age[m] >= 18) return true;
  return rng::uniform_at(s.seed, streams::harvest, P.user[m], s.accounts.key[a], 0) <
         s.spec->response.download_circumvention;
}

void open_dyad(State& s, std::uint32_t a, std::uint32_t m, double hour) {
  Dyads& D = s.dyads;
  const std::size_t p = s.accounts.platform[a];
  const std::uint32_t i = D.push({.account = a,
                                  .minor = m,
                                  .platform = static_cast<std::uint16_t>(p),
                                  .harvested = static_cast<std::uint8_t>(harvests_images(s, a, m) ? 1 : 0),
                                  .e2ee_u = static_cast<float>(rng::uniform_at(
                                      s.seed, streams::dyad, s.platforms[p].user[m], s.accounts.key[a], 0xFFFFFFFFu)),
                                  .start_day = static_cast<std::uint16_t>(s.day),
                                  .next_hour = hour,  // scheduled by progress_dyads
                                  .last_hour = hour});
  ++s.accounts.open_dyads[a];
  s.accounts.connections[a].push_back(m);
  mark_reached(s, p, m, engaged, a);
  mark_reached(s, p, m, accepted_stranger, a);  // an offender is a stranger too
  s.add_by(a, p, s.platforms[p].user[m], Metric::dyads_opened, 1);
  schedule_dyad(s, i);
}

}  // namespace

void attempt_contact(State& s, std::uint32_t a, std::uint32_t m, double hour, std::uint32_t slot, bool via_group) {
  Accounts& A = s.accounts;
  const std::size_t p = A.platform[a];
  const PlatformState& P = s.platforms[p];
  const std::uint32_t user = P.user[m];
  if (s.pop.age[user] >= 18) return;  // aged out since remembered (population.ageing)
  s.add_by(a, p, user, Metric::contact_attempts, 1);
  if (s.refused_pairs.contains((static_cast<std::uint64_t>(A.offender[a]) << 32) | user)) {
    // The same person again, after the minor blocked or reported one of his accounts.
    s.add_by(a, p, user, Metric::recontacts_after_block, 1);
    mark_reached(s, p, m, recontacted, a);
  }
  if (A.first_contact_day[a] < 0) A.first_contact_day[a] = static_cast<std::int32_t>(s.day);
  if (P.believed_age[m] < 18 &&
      A.believed_age[a] >= P.believed_age[m] + P.spec->controls.behavioural_risk.age_gap_years)
    add_risk(s, a, RiskEvent::contact, hour);
  rng::Draw g(s.seed, streams::reach, user, A.key[a], s.tick * 4u + slot);
  // Whether a group contact is a group-chat add: its own keyed uniform (the high slot bit keeps it apart from
  // the gate's slots), drawn only for group contacts so no other number moves.
  const bool group_add = via_group && s.spec->response.group_add_share > 0 &&
                         rng::uniform_at(s.seed, streams::reach, user, A.key[a], 0x80000000u | (s.tick * 4u + slot)) <
                             s.spec->response.group_add_share;
  const GateResult gate = gate_contact(s, a, m, g, group_add);
  if (gate.gate == Gate::prevented) {
    s.add_by(a, p, user, Metric::contacts_prevented, 1);
    return;
  }
  if (gate.gate == Gate::unseen) return;
  mark_reached(s, p, m, contacted, a);
  respond(s, a, m, gate, hour, slot);
}

namespace {

/// The filters between discovery and contact that nothing in the tick's
/// contact pass changes: the candidate is a minor still on the platform, not
/// the offender himself, and of the kind he prefers (one uniform of d).
bool passes_fixed_filters(const State& s, std::uint32_t a, const OffenderTypeSpec& t, std::uint32_t m, rng::Draw& d) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  const std::uint32_t user = P.user[m];
  if (s.pop.age[user] >= 18 || (P.settings[m] & kRemoved) != 0 || P.join_day[m] > s.day) return false;
  if (user == s.offenders.user[s.accounts.offender[a]]) return false;  // a peer perpetrator under 18 finds himself
  return preferred(s, t, user, d);
}

/// The filters that the account's own earlier attempts this tick can change:
/// a minor who blocked it, or one it already talks to.
bool passes_own_filters(const State& s, std::uint32_t a, std::uint32_t m) {
  const std::uint32_t user = s.platforms[s.accounts.platform[a]].user[m];
  if (s.blocked_pairs.contains((static_cast<std::uint64_t>(s.accounts.key[a]) << 32) | user)) return false;
  const auto& conn = s.accounts.connections[a];
  return std::find(conn.begin(), conn.end(), m) == conn.end();  // not already talking
}

rng::Draw attempt_draw(const State& s, std::uint32_t a, std::uint64_t k) {
  return {s.seed, streams::discovery, s.accounts.key[a], s.tick, 1024u + 16u * static_cast<std::uint32_t>(k)};
}

/// The tick's Poisson count of attempts of account a.
std::uint64_t attempts_of(const State& s, std::uint32_t a, const OffenderTypeSpec& t) {
  return rng::Draw(s.seed, streams::discovery, s.accounts.key[a], s.tick)
      .poisson(t.contacts_per_day * s.dt_hours / 24.0);
}

/// Attempt k of account a, from discovery to contact, with the state as it is.
void attempt(State& s, std::uint32_t a, const OffenderTypeSpec& t, std::uint64_t k) {
  rng::Draw d = attempt_draw(s, a, k);
  bool via_group = false;
  const std::uint32_t m = discover(s, a, d, &via_group);
  if (m == kNone || !passes_fixed_filters(s, a, t, m, d) || !passes_own_filters(s, a, m)) return;
  attempt_contact(s, a, m, s.hour + d.uniform() * s.dt_hours, 0, via_group);
}

/// Attempt k of account a read ahead, from the state at the tick's start;
/// peer-tie lists it generates go to `sink`.
AheadAttempt read_attempt(const State& s, std::uint32_t a, const OffenderTypeSpec& t, std::uint64_t k, TieSink& sink) {
  rng::Draw d = attempt_draw(s, a, k);
  bool via_group = false;
  const std::uint32_t m = discover(s, a, d, &via_group, &sink);
  if (m == kNone || !passes_fixed_filters(s, a, t, m, d)) return {.kind = AheadAttempt::none};
  return {.hour = s.hour + d.uniform() * s.dt_hours,
          .minor = m,
          .kind = AheadAttempt::found,
          .via_group = static_cast<std::uint8_t>(via_group ? 1 : 0)};
}

/// Attempts whose data read_ahead fetches together: each attempt's reads are
/// a chain of misses (the candidate, then its row on the platform, then its
/// person), so a group's chains are walked side by side, one link a round, and
/// the CPU waits for the group's misses at once instead of one after another.
constexpr std::size_t kFetchGroup = 16;

/// Fetch the data that attempts [first, last) of `pending` will read.
void fetch_candidates(const State& s, std::vector<PendingAttempt>& pending, std::size_t first, std::size_t last) {
  const Accounts& A = s.accounts;
  for (std::size_t j = first; j < last; ++j) {
    PendingAttempt& w = pending[j];
    w.pick = discovery_pick(s, w.account, attempt_draw(s, w.account, w.k));
    if (w.pick != nullptr) __builtin_prefetch(w.pick);
  }
  for (std::size_t j = first; j < last; ++j) {
    if (pending[j].pick == nullptr) continue;
    const PlatformState& P = s.platforms[A.platform[pending[j].account]];
    const std::uint32_t m = *pending[j].pick;
    __builtin_prefetch(P.user.data() + m);
    __builtin_prefetch(P.believed_age.data() + m);
    __builtin_prefetch(P.settings.data() + m);
    __builtin_prefetch(P.join_day.data() + m);
  }
  for (std::size_t j = first; j < last; ++j) {
    if (pending[j].pick == nullptr) continue;
    const std::uint32_t user = s.platforms[A.platform[pending[j].account]].user[*pending[j].pick];
    __builtin_prefetch(s.pop.age.data() + user);
    __builtin_prefetch(s.pop.boy.data() + user);
    __builtin_prefetch(s.pop.activity.data() + user);
  }
}

/// Reads ahead the attempts of every active account, chunk by chunk on the
/// run's threads. Only reads: discovery, the fixed filters and the random
/// numbers are functions of the state at the tick's start, which the serial
/// pass does not change except for each account's own connections, flags and
/// blocks, which it checks.
void read_ahead(State& s) {
  const Accounts& A = s.accounts;
  ContactAhead& ahead = s.contact_ahead;
  const std::size_t n = A.active.size();
  const std::size_t chunks = (n + ContactAhead::kChunk - 1) / ContactAhead::kChunk;
  ahead.accounts.resize(n);
  if (ahead.chunks.size() < chunks) {
    ahead.chunks.resize(chunks);
    ahead.ties.resize(chunks);
  }
  ahead.pending.resize(static_cast<std::size_t>(std::max(s.threads, 1)));
  parallel_for(chunks, s.threads, [&](std::size_t c, std::size_t w) {
    std::vector<AheadAttempt>& out = ahead.chunks[c];
    TieSink& sink = ahead.ties[c];
    std::vector<PendingAttempt>& pending = ahead.pending[w];
    pending.clear();
    sink.clear();
    // The accounts' counts first, then their attempts in order, a group at a time.
    for (std::size_t i = c * ContactAhead::kChunk; i < std::min(n, (c + 1) * ContactAhead::kChunk); ++i) {
      const std::uint32_t a = A.active[i];
      AheadAccount& rec = ahead.accounts[i];
      rec = {};
      if (A.banned[a]) continue;
      const OffenderTypeSpec& t = s.type_spec(A.type[a]);
      if (A.open_dyads[a] >= static_cast<std::uint32_t>(t.max_open_dyads)) continue;
      const std::uint64_t attempts = attempts_of(s, a, t);
      rec = {.first = static_cast<std::uint32_t>(pending.size()),
             .count = static_cast<std::uint32_t>(attempts),
             .read = 1};
      if (attempts == 0) continue;  // most accounts, most ticks
      // The row's other columns are read when the attempts are (conn_size and flags among them).
      __builtin_prefetch(A.connections.data() + a);
      __builtin_prefetch(A.flags.data() + a);
      __builtin_prefetch(A.platform.data() + a);
      __builtin_prefetch(A.believed_age.data() + a);
      __builtin_prefetch(A.groups.data() + a);
      for (std::uint64_t k = 0; k < attempts; ++k)
        pending.push_back({a, static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(i), nullptr});
    }
    out.resize(pending.size());
    for (std::size_t g = 0; g < pending.size(); g += kFetchGroup) {
      const std::size_t last = std::min(pending.size(), g + kFetchGroup);
      fetch_candidates(s, pending, g, last);
      for (std::size_t j = g; j < last; ++j) {
        const std::uint32_t a = pending[j].account;
        if (pending[j].k == 0) {
          AheadAccount& rec = ahead.accounts[pending[j].position];
          rec.conn_size = static_cast<std::uint32_t>(A.connections[a].size());
          rec.flags = A.flags[a];
        }
        out[j] = read_attempt(s, a, s.type_spec(A.type[a]), pending[j].k, sink);
      }
    }
  });
  // The lists generated go to the cache, in chunk order (it changes no result, only the time).
  TieCache& cache = s.tie_cache;
  for (std::size_t c = 0; c < chunks; ++c) {
    const TieSink& sink = ahead.ties[c];
    for (std::size_t j = 0, begin = 0; j < sink.keys.size(); begin = sink.ends[j++])
      if (!cache.at.contains(sink.keys[j]))
        cache.insert(sink.keys[j], std::span(sink.ties).subspan(begin, sink.ends[j] - begin));
  }
}

}  // namespace

void discover_and_contact(State& s) {
  Accounts& A = s.accounts;
  // On a large ecosystem, discovery (most of the time: random reads over
  // every platform's members) is read ahead on the run's threads and the
  // contacts made from it in one serial pass, in account order, so every
  // result is the one of a single pass (tests/cpp/test_parallel_build.cpp).
  const bool ahead = s.threads > 1 && A.active.size() >= read_ahead_accounts;
  if (ahead) read_ahead(s);
  const ContactAhead& R = s.contact_ahead;
  std::size_t keep = 0;
  for (std::size_t i = 0; i < A.active.size(); ++i) {
    const std::uint32_t a = A.active[i];
    if (A.banned[a]) continue;  // compact the active list as we go
    A.active[keep++] = a;
    const bool was_read = ahead && i < R.accounts.size() && R.accounts[i].read != 0;
    if (was_read && R.accounts[i].count == 0) continue;  // no attempt this tick (most accounts, most ticks)
    const OffenderTypeSpec& t = s.type_spec(A.type[a]);
    const auto max_open = static_cast<std::uint32_t>(t.max_open_dyads);
    if (A.open_dyads[a] >= max_open) continue;
    if (!was_read) {
      const std::uint64_t attempts = attempts_of(s, a, t);
      for (std::uint64_t k = 0; k < attempts && A.open_dyads[a] < max_open; ++k) attempt(s, a, t, k);
      continue;
    }
    const AheadAccount& rec = R.accounts[i];
    const AheadAttempt* read = R.chunks[i / ContactAhead::kChunk].data() + rec.first;
    for (std::uint32_t k = 0; k < rec.count && A.open_dyads[a] < max_open; ++k) {
      // A dyad opened or a flag raised by this account's earlier attempts changes its discovery: made afresh.
      if (A.connections[a].size() != rec.conn_size || A.flags[a] != rec.flags) {
        attempt(s, a, t, k);
        continue;
      }
      if (read[k].kind == AheadAttempt::none || !passes_own_filters(s, a, read[k].minor)) continue;
      attempt_contact(s, a, read[k].minor, read[k].hour, 0, read[k].via_group != 0);
    }
  }
  A.active.resize(keep);
}

}  // namespace safesim::detail

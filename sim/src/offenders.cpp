// Offenders and their accounts: creation, bans, and ban evasion.
//
// An offender is an adult user with a type (groomer, sextortion, distributor),
// or a peer perpetrator (type peer): a user aged offenders.peer_age_min to
// peer_age_max, drawn as a share peer_share of them, so an older minor or a
// young adult. A peer under 18 presents his own age; he is not believed an
// adult, so protections against adults do not stop him.
// It runs one or more accounts at a time; each account has a claimed age
// (understated, or posing as a teen) and the age the platform believes after
// age assurance. A banned account's owner may come back with a new account
// after a delay, unless ban-evasion linkage catches the new account at once.
// A person who stops for good (removed by law enforcement, or left with no
// live hunting account and no return pending) is replaced the next day by a
// new offender of his type (offenders.replacement), so the number of people
// offending stays where the scenario put it rather than draining away as bans
// outpace arrivals; arrivals_per_year adds growth on top.
// Account RNG keys are the offender's key * 256 + generation (account_key()), stable
// across scenarios. Peer perpetrators have their own keys, in the upper half of
// the key space, and their own draws (the offender stream at other slots), so
// adding them leaves every adult offender's draws where they were.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

/// Platform choice (docs/model/submodels/offenders.md): an offender of
/// type t opening an account picks platform p with weight
///   minors_p x exp(-risk_aversion x detection_risk_p + sum over surfaces s of need_ts x value_ps),
/// where value_ps is how fully p offers surface s (surfaces.*) and, for the
/// private and file channels, how much of it the platform cannot read: a
/// readable channel is worth readable_channel_value of an unreadable one.
double platform_weight(const State& s, std::size_t p, const SurfaceNeeds& need) {
  const PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const SurfacesSpec& offer = P.spec->surfaces;
  const double r = s.spec->offenders.readable_channel_value;
  const bool css = c.client_side_scanning;
  // What of each channel the platform cannot read: messages in direct
  // messages; material as content.cpp sends it (groups or messages, inline or
  // through the file-transfer surface).
  const double hidden_dm = css ? 0.0 : c.e2ee_share;
  const ContentSpec& cs = s.spec->content;
  const double f = cs.file_share;
  const double hidden_files = css ? 0.0
                                  : cs.group_share * ((1.0 - f) * c.e2ee_group_share + f * c.e2ee_file_share) +
                                        (1.0 - cs.group_share) * ((1.0 - f) * c.e2ee_share + f * c.e2ee_file_share);
  const double utility = -s.spec->offenders.risk_aversion * P.detection_risk +
                         need.public_discovery * offer.public_discovery +
                         need.private_messages * offer.private_messages * (r + (1.0 - r) * hidden_dm) +
                         need.file_transfer * offer.file_transfer * (r + (1.0 - r) * hidden_files);
  return static_cast<double>(P.minors_active) * std::exp(utility);
}

/// The cumulative weights per type, rebuilt when controls changed (O(platforms) then).
void refresh_choice(State& s) {
  if (!s.choice_stale) return;
  for (std::uint8_t t = 0; t < s.choice_cumulative.size(); ++t) {
    if (t == kPeerType && s.spec->offenders.peer_share <= 0) continue;  // no peers: nothing to choose
    auto& cum = s.choice_cumulative[t];
    cum.resize(s.platforms.size());
    double total = 0;
    for (std::size_t p = 0; p < s.platforms.size(); ++p) cum[p] = total += platform_weight(s, p, s.type_spec(t).needs);
  }
  s.choice_stale = false;
}

/// One uniform per choice (common random numbers), then a binary search: O(log platforms).
std::size_t choose_platform(State& s, std::uint8_t type, rng::Draw& d) {
  const double u0 = d.uniform();
  if (s.platforms.size() == 1) return 0;
  refresh_choice(s);
  const auto& cum = s.choice_cumulative[type];
  const double u = u0 * cum.back();
  const auto it = std::upper_bound(cum.begin(), cum.end(), u);
  return it == cum.end() ? cum.size() - 1 : static_cast<std::size_t>(it - cum.begin());
}

}  // namespace

std::vector<double> platform_choice_shares(State& s, std::uint8_t type) {
  if (s.platforms.size() == 1) return {1.0};
  refresh_choice(s);
  const auto& cum = s.choice_cumulative[type];
  std::vector<double> share(cum.size());
  for (std::size_t p = 0; p < cum.size(); ++p) share[p] = (cum[p] - (p > 0 ? cum[p - 1] : 0.0)) / cum.back();
  return share;
}

std::uint32_t account_key(std::uint32_t offender, std::uint32_t generation) {
  if (offender >= kMaxOffenders || generation >= kMaxAccountsPerOffender)
    throw std::length_error("safesim: offender " + std::to_string(offender) + " account " + std::to_string(generation) +
                            " is past the engine's key space (" + std::to_string(kMaxOffenders) + " offenders, " +
                            std::to_string(kMaxAccountsPerOffender) + " accounts each)");
  return offender * kMaxAccountsPerOffender + generation;
}

std::uint32_t create_account(State& s, std::uint32_t offender, std::size_t platform, bool hunting) {
  Accounts& A = s.accounts;
  Offenders& O = s.offenders;
  const std::uint8_t type = O.type[offender];
  const OffenderTypeSpec& t = s.type_spec(type);
  const std::uint32_t key = account_key(O.key[offender], O.generation[offender]++);
  const std::uint32_t user = O.user[offender];
  rng::Draw d(s.seed, streams::account, key, 0);
  const int true_age = s.pop.age[user];
  int claimed;
  if (d.uniform() < t.claims_teen_prob)
    claimed = static_cast<int>(t.claimed_teen_age_min) +
              static_cast<int>(d.below(static_cast<std::uint32_t>(
                  std::max<std::int64_t>(1, t.claimed_teen_age_max - t.claimed_teen_age_min + 1))));
  else if (true_age < 18)
    claimed = true_age;  // a peer perpetrator under 18 presents his own age
  else
    claimed = std::max(18, static_cast<int>(std::lround(true_age - t.age_understatement_years)));
  // Age assurance: offenders circumvent at the same rate as anyone else.
  const AgeAssuranceSpec& aa = s.platforms[platform].spec->controls.age_assurance;
  int believed = claimed;
  const double u_cover = d.uniform(), u_circ = d.uniform(), z = d.normal();
  if (aa.method != AgeAssurance::self_declaration && u_cover < aa.coverage && u_circ >= aa.circumvention)
    believed = s.spec->age_methods.estimate(aa.method, true_age, z);
  Accounts::Row row{.key = key,
                    .offender = offender,
                    .platform = static_cast<std::uint16_t>(platform),
                    .type = type,
                    .claimed_age = static_cast<std::uint8_t>(claimed),
                    .believed_age = static_cast<std::uint8_t>(believed),
                    .hunting = static_cast<std::uint8_t>(hunting ? 1 : 0)};
  const auto& groups = s.platforms[platform].groups;
  const std::uint64_t joined = std::min<std::uint64_t>(4, 1 + d.poisson(s.spec->graph.groups_per_user));
  for (std::uint64_t j = 0; j < 4; ++j)
    row.groups[j] = j < joined && groups.count() > 0 ? d.below(static_cast<std::uint32_t>(groups.count())) : kNone;
  const std::uint32_t a = A.push(row);
  // Link the account at the end of its offender's list.
  if (O.last_account[offender] == kNone)
    O.first_account[offender] = a;
  else
    A.next_of_offender[O.last_account[offender]] = a;
  O.last_account[offender] = a;
  if (hunting) A.active.push_back(a);
  return a;
}

std::uint32_t account_on(State& s, std::uint32_t offender, std::size_t platform) {
  const Accounts& A = s.accounts;
  std::uint32_t found = kNone;  // the newest live account there
  for (std::uint32_t a = s.offenders.first_account[offender]; a != kNone; a = A.next_of_offender[a])
    if (A.platform[a] == platform && !A.banned[a]) found = a;
  if (found != kNone || s.offenders.generation[offender] >= kMaxAccountsPerOffender) return found;
  return create_account(s, offender, platform, false);
}

namespace {

constexpr int kNoType = -1;

/// A user becomes an offender, of `type` (a replacement keeps the type of the
/// person replaced) or of a type drawn from the shares, with its accounts.
void add_offender(State& s, std::uint32_t user, rng::Draw& d, std::uint32_t key, int given_type = kNoType) {
  const OffendersSpec& os = s.spec->offenders;
  // Types by a low-discrepancy sequence over the offenders in order of
  // arrival (golden-ratio steps from a random start): the shares hold to
  // within one offender in every run. A few sextortion offenders, with their
  // many accounts and contacts, would otherwise swing every harm metric from
  // one replicate to the next.
  d.uniform();  // the place of the former per-offender type draw
  const double at =
      rng::Draw(s.seed, streams::offender, 0xFFFFFFFFu, 3).uniform() + static_cast<double>(key) * 0.6180339887498949;
  const double u = at - std::floor(at);
  const std::uint8_t type = given_type != kNoType                        ? static_cast<std::uint8_t>(given_type)
                            : u < os.groomer.share                       ? 0
                            : u < os.groomer.share + os.sextortion.share ? 1
                                                                         : 2;
  if (s.offenders.size() >= kMaxOffenders)
    throw std::length_error("safesim: more than " + std::to_string(kMaxOffenders) +
                            " offenders in one run (the engine's limit); lower offenders.share_of_adults, "
                            "offenders.arrivals_per_year or population.users");
  const std::uint32_t o = s.offenders.push({.user = user, .key = key, .type = type});
  const OffenderTypeSpec& t = s.type_spec(type);
  const std::uint64_t n_accounts = 1 + d.poisson(t.accounts - 1.0);
  for (std::uint64_t k = 0; k < n_accounts && k < 200; ++k) create_account(s, o, choose_platform(s, type, d));
}

/// Keys one kind of offender (adults, or peers) needs past its `initial`
/// ones: room for the arrivals a run can have (their expected number plus six
/// standard deviations), at most `limit`. A replacement's key is its
/// predecessor's plus this stride.
std::uint32_t key_room(const State& s, std::size_t initial, std::uint32_t limit) {
  const double expected =
      s.spec->offenders.arrivals_per_year * static_cast<double>(initial) * static_cast<double>(s.total_days) / 365.0;
  return static_cast<std::uint32_t>(
      std::min<double>(limit, static_cast<double>(initial) + expected + 6.0 * std::sqrt(expected) + 16));
}

}  // namespace

void build_offenders(State& s) {
  const OffendersSpec& os = s.spec->offenders;
  // Systematic sampling over the adults from a random start: exactly
  // adults x share_of_adults offenders (rounded), as population.cpp does for
  // minors. How many offenders a run has is a scenario input, not noise that
  // every replicate should redraw: it scales every harm metric at once.
  const double phase = rng::Draw(s.seed, streams::offender, 0xFFFFFFFFu, 2).uniform();
  const bool peers = os.peer_share > 0;
  s.adult_key_limit = peers ? kPeerKeyBase : kMaxOffenders;
  std::size_t adults = 0;
  for (std::size_t i = 0; i < s.pop.size(); ++i) {
    if (s.pop.age[i] < 18) continue;
    const auto id = static_cast<std::uint32_t>(i);
    rng::Draw d(s.seed, streams::offender, id, 0);
    d.uniform();  // the place of the former per-adult draw: the type draws after it stay put
    const double at = phase + static_cast<double>(adults++) * os.share_of_adults;
    if (at - std::floor(at) >= os.share_of_adults) continue;
    if (s.offenders.size() >= s.adult_key_limit)
      throw std::length_error("safesim: more than " + std::to_string(s.adult_key_limit) +
                              " adult offenders (the engine's limit with peer perpetrators)");
    add_offender(s, id, d, static_cast<std::uint32_t>(s.offenders.size()));
  }
  s.initial_offenders = s.offenders.size();
  s.key_stride = key_room(s, s.initial_offenders, s.adult_key_limit);
  if (!peers) return;
  // Peer perpetrators: the same systematic sampling over the users aged
  // peer_age_min to peer_age_max, with their own start, draws (slot 6) and
  // keys (from kPeerKeyBase). A user drawn who is an adult offender already
  // stays one (the sampling does not shift, so the other peers are the same
  // whatever share_of_adults is).
  std::vector<std::uint8_t> taken(s.pop.size(), 0);
  for (std::size_t o = 0; o < s.offenders.size(); ++o) taken[s.offenders.user[o]] = 1;
  const double peer_phase = rng::Draw(s.seed, streams::offender, 0xFFFFFFFFu, 6).uniform();
  std::size_t eligible = 0;
  for (std::size_t i = 0; i < s.pop.size(); ++i) {
    const int age = s.pop.age[i];
    if (age < os.peer_age_min || age > os.peer_age_max) continue;
    const auto id = static_cast<std::uint32_t>(i);
    const double at = peer_phase + static_cast<double>(eligible++) * os.peer_share;
    if (at - std::floor(at) >= os.peer_share) continue;
    const auto key = kPeerKeyBase + static_cast<std::uint32_t>(s.initial_peers++);  // a key slot either way
    if (taken[i]) continue;
    rng::Draw d(s.seed, streams::offender, id, 6);
    add_offender(s, id, d, key, kPeerType);
  }
  s.peer_stride = key_room(s, s.initial_peers, kMaxOffenders - kPeerKeyBase);
}

namespace {

/// A random user becomes an offender of `type` with RNG key `key` (rejection
/// over ages: an adult, or for a peer perpetrator a user in the peer ages).
void add_random_offender(State& s, rng::Draw& d, std::uint32_t key, int type) {
  const OffendersSpec& os = s.spec->offenders;
  const auto users = static_cast<std::uint32_t>(s.pop.size());
  for (int tries = 0; tries < 64; ++tries) {
    const std::uint32_t u = d.below(users);
    const int age = s.pop.age[u];
    if (type == kPeerType ? age < os.peer_age_min || age > os.peer_age_max : age < 18) continue;
    add_offender(s, u, d, key, type);
    return;
  }
}

/// Today's new offenders of one kind: Poisson at arrivals_per_year per person
/// of its `initial` ones, from the day's draws in `slot`, keyed after the
/// initial ones from `base` while they fit the kind's `stride`.
void arrive(State& s, std::uint32_t slot, std::size_t initial, std::uint32_t& arrived, std::uint32_t stride,
            std::uint32_t base, int type) {
  const double rate = s.spec->offenders.arrivals_per_year * static_cast<double>(initial) / 365.0;
  rng::Draw d(s.seed, streams::offender, static_cast<std::uint32_t>(s.day), slot);
  const std::uint64_t n = d.poisson(rate);
  for (std::uint64_t k = 0; k < n && initial + arrived < stride; ++k)
    add_random_offender(s, d, base + static_cast<std::uint32_t>(initial + arrived++), type);
}

}  // namespace

void offender_arrivals(State& s) {
  // Replacements first, each keyed by the person it replaces, so a change
  // that moves one departure leaves the others' replacements where they were.
  auto& replaced = s.replacements_by_day[static_cast<std::size_t>(s.day)];
  for (std::uint32_t o : replaced) {
    // Keyed by the person replaced; past the key space there is no replacement.
    const bool peer = s.offenders.type[o] == kPeerType;
    const std::uint64_t key = static_cast<std::uint64_t>(s.offenders.key[o]) + (peer ? s.peer_stride : s.key_stride);
    if (key >= (peer ? kMaxOffenders : s.adult_key_limit)) continue;
    rng::Draw d(s.seed, streams::offender, s.offenders.key[o], 4);
    add_random_offender(s, d, static_cast<std::uint32_t>(key), s.offenders.type[o]);
  }
  replaced.clear();
  replaced.shrink_to_fit();
  arrive(s, 1, s.initial_offenders, s.arrivals, s.key_stride, 0, kNoType);
  // Peer arrivals at the same rate per peer at day 0, from their own draws.
  if (s.initial_peers > 0) arrive(s, 7, s.initial_peers, s.peer_arrivals, s.peer_stride, kPeerKeyBase, kPeerType);
}

void check_departure(State& s, std::uint32_t o) {
  Offenders& O = s.offenders;
  if (O.departed[o]) return;
  if (!O.removed[o]) {
    if (O.returns_pending[o] > 0) return;
    for (std::uint32_t a = O.first_account[o]; a != kNone; a = s.accounts.next_of_offender[a])
      if (!s.accounts.banned[a] && s.accounts.hunting[a]) return;
  }
  O.departed[o] = 1;
  if (!s.spec->offenders.replacement) return;
  // The first of the person's keyed replacement times after today: the same
  // day in any design where he stops between the same two of them.
  const double gap = s.spec->offenders.replacement_interval_days;
  std::int64_t when = s.day + 1;
  if (gap >= 1) {
    rng::Draw d(s.seed, streams::offender, O.key[o], 5);
    double t = 0;
    while (t < static_cast<double>(s.day + 1)) t += d.exponential(1.0 / gap);
    when = static_cast<std::int64_t>(std::ceil(t));
  }
  if (when < s.total_days) s.replacements_by_day[static_cast<std::size_t>(when)].push_back(o);
}

void ban_account(State& s, std::uint32_t a, Channel channel) {
  Accounts& A = s.accounts;
  if (A.banned[a]) return;
  A.banned[a] = 1;
  const std::size_t p = A.platform[a];
  s.add(p, Metric::offenders_banned, 1);
  s.add(p, Metric::offenders_detected, 1);
  s.add(p, info(channel).metric, 1);
  if (info(channel).confirmed_here) {
    report_to_clearinghouse(s, p, A.offender[a]);
    const SignalSharingSpec& ss = s.platforms[p].spec->controls.signal_sharing;
    if (ss.participates) {
      const auto when = static_cast<std::size_t>(s.day + 1 + static_cast<std::int64_t>(ss.latency_days));
      if (when < s.signals_by_day.size())
        s.signals_by_day[when].emplace_back(A.offender[a], static_cast<std::uint16_t>(p));
    }
  }
  if (A.first_contact_day[a] >= 0) s.add_time_to_detection(p, static_cast<double>(s.day - A.first_contact_day[a]));
  if (info(channel).confirmed_here) enforce_across_operator(s, a);  // one enforcement record per operator
  // Ban evasion: the owner may come back with a new account (not after arrest,
  // and not for accounts that only held moved conversations).
  if (s.offenders.removed[A.offender[a]] || !A.hunting[a]) return;
  const OffenderTypeSpec& t = s.type_spec(A.type[a]);
  rng::Draw d(s.seed, streams::reentry, A.key[a], 0);
  if (d.uniform() >= t.reentry_prob) {
    check_departure(s, A.offender[a]);  // no return: was that his last account?
    return;
  }
  const double delay = t.reentry_delay_days > 0 ? d.exponential(1.0 / t.reentry_delay_days) : 0.0;
  const std::int64_t back = s.day + 1 + static_cast<std::int64_t>(delay);
  // A return due after the horizon stays pending: the person has not stopped.
  ++s.offenders.returns_pending[A.offender[a]];
  if (back < s.total_days) s.returns_by_day[static_cast<std::size_t>(back)].push_back(A.offender[a]);
}

void return_banned_offenders(State& s) {
  auto& returning = s.returns_by_day[static_cast<std::size_t>(s.day)];
  for (std::uint32_t o : returning) {
    --s.offenders.returns_pending[o];
    if (s.offenders.removed[o]) continue;
    if (s.offenders.generation[o] >= kMaxAccountsPerOffender) {  // key space of this offender exhausted
      check_departure(s, o);
      continue;
    }
    rng::Draw d(s.seed, streams::reentry, account_key(s.offenders.key[o], s.offenders.generation[o]), 1);
    const std::size_t p = choose_platform(s, s.offenders.type[o], d);
    const std::uint32_t a = create_account(s, o, p);
    if (d.uniform() < s.platforms[p].spec->controls.enforcement.linkage_detection)
      ban_account(s, a, Channel::linkage);
    else
      s.add(p, Metric::ban_evasions, 1);
  }
  returning.clear();
  returning.shrink_to_fit();
}

}  // namespace safesim::detail

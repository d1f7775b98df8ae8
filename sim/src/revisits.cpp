// Target memory (docs/model/submodels/discovery-contact.md): an offender is a
// person with accounts, and his list of targets outlives any one of them.
//
// When a minor blocks or reports one of his accounts, or the platform bans an
// account while it talks with a minor, the person remembers the minor. With
// his type's revisit_prob he plans to come back after an exponential delay
// (mean revisit_delay_days), from another account: the newest live hunting
// account he holds on a platform where the minor has an account, which the
// minor has not blocked, which is not already talking with the minor and has
// room for another conversation. If he has none at that time (every account
// banned, a return still pending), he tries again after another delay of the
// same mean, until the horizon or until he stops for good (removed by law
// enforcement, or departed: offenders.cpp).
//
// A return is one contact attempt (attempt_contact in contact.cpp): it meets
// the same gates and the same response as a discovered contact. Any attempt
// by the person on a minor who refused one of his accounts, whether planned
// or a chance rediscovery, counts in recontacts_after_block and, as distinct
// minors, minors_recontacted; with revisit_prob = 0 only chance remains.
//
// Cost: work per tick is the number of returns due, plus a walk over the
// person's accounts for each (at most 256). Draws are keyed by (minor, the
// refused account's key, try): a change that moves other events leaves a
// planned return where it was.
#include <algorithm>
#include <functional>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

/// Try `tries` of a return planned on refused account `key`: whether he plans
/// it at all (read at try 0 only) and the delay in hours before the try.
struct RevisitDraw {
  double u_return, delay_hours;
};
RevisitDraw revisit_draw(const State& s, const OffenderTypeSpec& t, std::uint32_t user, std::uint32_t key,
                         std::uint32_t tries) {
  rng::Draw d(s.seed, streams::revisit, user, key, tries);
  const double u_return = d.uniform();
  return {u_return, t.revisit_delay_days > 0 ? 24.0 * d.exponential(1.0 / t.revisit_delay_days) : 0.0};
}

void push(State& s, const Revisit& r) {
  s.revisits.push_back(r);
  std::push_heap(s.revisits.begin(), s.revisits.end(), std::greater<>{});
}

/// The account the person returns from, or kNone: the newest live hunting
/// account other than the refused one, on a platform where the minor is a member, not blocked by the
/// minor, not already talking with the minor, with room for a conversation.
std::uint32_t returning_account(const State& s, const Revisit& r, std::uint32_t& local) {
  const Accounts& A = s.accounts;
  const std::uint32_t user = r.user;
  std::uint32_t found = kNone;
  for (std::uint32_t a = s.offenders.first_account[r.offender]; a != kNone; a = A.next_of_offender[a]) {
    if (A.banned[a] || !A.hunting[a] || A.key[a] == r.refused) continue;
    const PlatformState& P = s.platforms[A.platform[a]];
    const std::uint32_t m = P.local_of[user];
    if (m == kNone || (P.settings[m] & kRemoved) != 0 || P.join_day[m] > s.day) continue;
    if (A.open_dyads[a] >= static_cast<std::uint32_t>(s.type_spec(A.type[a]).max_open_dyads)) continue;
    if (s.blocked_pairs.contains((static_cast<std::uint64_t>(A.key[a]) << 32) | user)) continue;
    const auto& conn = A.connections[a];
    if (std::find(conn.begin(), conn.end(), m) != conn.end()) continue;
    found = a;
    local = m;
  }
  return found;
}

}  // namespace

void remember_target(State& s, std::uint32_t account, std::uint32_t user, double hour, bool refused) {
  const Accounts& A = s.accounts;
  const std::uint32_t offender = A.offender[account];
  if (refused) s.refused_pairs.insert((static_cast<std::uint64_t>(offender) << 32) | user);
  const OffenderTypeSpec& t = s.type_spec(A.type[account]);
  if (t.revisit_prob <= 0) return;
  const RevisitDraw d = revisit_draw(s, t, user, A.key[account], 0);
  if (d.u_return >= t.revisit_prob) return;
  push(s, {hour + d.delay_hours, offender, user, A.key[account], 0});
}

void revisit_targets(State& s, double t_end) {
  auto& heap = s.revisits;
  const auto horizon_hours = static_cast<double>(s.total_days) * 24.0;
  while (!heap.empty() && heap.front().hour < t_end) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Revisit r = heap.back();
    heap.pop_back();
    if (s.offenders.removed[r.offender] || s.offenders.departed[r.offender]) continue;  // he has stopped
    std::uint32_t m = kNone;
    const std::uint32_t a = returning_account(s, r, m);
    if (a == kNone) {
      // No usable account now: try again later, at least a tick on (the memory outlives the accounts).
      const OffenderTypeSpec& t = s.type_spec(s.offenders.type[r.offender]);
      const double next = t_end + revisit_draw(s, t, r.user, r.refused, r.tries + 1).delay_hours;
      if (next < horizon_hours) push(s, {next, r.offender, r.user, r.refused, r.tries + 1});
      continue;
    }
    attempt_contact(s, a, m, std::max(r.hour, s.hour), 1);
  }
}

}  // namespace safesim::detail

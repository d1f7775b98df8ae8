// Discovery: how an offender account finds candidate minors (docs/model/submodels/discovery-contact.md).
//
// Channels, each gated by controls:
//   friend suggestions  friends of a minor the account is already connected
//                       to; network_expansion, hide_connection_lists
//   search              profiles found by search; search_restriction, private
//                       profiles, location_hidden
//   public content      public posts and comments; private profiles,
//                       recommender_safety, livestream_restrictions (below
//                       livestream_age_threshold)
//   shared groups       minors in the interest groups the account joined
// An attempt that a control closes finds nobody; structural unavailability
// (no connection yet for friend suggestions, no group) re-weights channels.
#include <algorithm>
#include <cmath>

#include "gates.hpp"
#include "safesim/rng.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

bool believed_adult(const State& s, std::uint32_t a) { return s.accounts.believed_age[a] >= 18; }

bool is_flagged(const State& s, const ControlsSpec& c, std::uint32_t a) {
  return s.accounts.flags[a] >= c.suspicious_adult_restrictions.flag_threshold;
}

/// Scratch for ties generated when read (graph.on_demand), one per thread
/// (runs may share a thread pool), reused so the daily step does not allocate.
std::vector<std::uint32_t>& tie_buffer(int which) {
  thread_local std::vector<std::uint32_t> buf[2];
  return buf[which];
}

std::uint32_t count_mutuals(const State& s, std::uint32_t a, std::uint32_t m, TieSink* sink = nullptr) {
  const auto& conn = s.accounts.connections[a];
  std::uint32_t mutuals = 0;
  for (std::uint32_t t : neighbours(s, s.accounts.platform[a], m, tie_buffer(1), sink))
    for (std::uint32_t c : conn)
      if (t == c) ++mutuals;
  return mutuals;
}

/// Index u picks among n.
std::uint32_t pick(double u, std::size_t n) {
  return static_cast<std::uint32_t>(
      std::min<double>(static_cast<double>(n) - 1, std::floor(u * static_cast<double>(n))));
}

/// The channel an attempt of account a takes: by weight over all four; one
/// that is structurally unavailable (no connection yet, no group) passes the
/// attempt to the available ones by weight. The distribution is the available
/// channels' weights, as if drawn among them alone, but an available channel
/// keeps the same numbers whatever the others' availability. -1: none.
int choose_channel(const State& s, std::uint32_t a, double u_channel, double u_fallback) {
  const ChannelWeights& w = s.type_spec(s.accounts.type[a]).channels;
  const double weights[4] = {w.friend_suggestions, w.search, w.public_content, w.groups};
  const bool available[4] = {!s.accounts.connections[a].empty(), true, true, s.accounts.groups[a][0] != kNone};
  const auto choose = [&](double u, bool only_available) {
    double total = 0;
    for (int k = 0; k < 4; ++k) total += (!only_available || available[k]) ? weights[k] : 0.0;
    if (!(total > 0)) return -1;
    double x = u * total;
    for (int k = 0; k < 4; ++k) {
      if (only_available && !available[k]) continue;
      if ((x -= weights[k]) < 0) return k;
    }
    return -1;
  };
  const int channel = choose(u_channel, false);
  return channel < 0 || !available[channel] ? choose(u_fallback, true) : channel;
}

}  // namespace

const std::uint32_t* discovery_pick(const State& s, std::uint32_t a, rng::Draw d) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  // The first four of discover's uniforms: channel, fallback, gate, pick.
  const double u_channel = d.uniform(), u_fallback = d.uniform();
  d.uniform();
  const double u_pick = d.uniform();
  if (P.minors.empty()) return nullptr;
  const int channel = choose_channel(s, a, u_channel, u_fallback);
  return channel == 1 || channel == 2 ? P.minors.data() + pick(u_pick, P.minors.size()) : nullptr;
}

std::uint32_t mutual_connections(const State& s, std::uint32_t a, std::uint32_t m) { return count_mutuals(s, a, m); }

std::uint32_t discover(const State& s, std::uint32_t a, rng::Draw& d, bool* via_group, TieSink* sink) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  const ControlsSpec& c = P.spec->controls;
  const ResponseSpec& r = s.spec->response;
  const auto& conn = s.accounts.connections[a];
  // Every uniform of an attempt is drawn here, at a fixed place, whether it is
  // used or not: a control that closes a channel, or a private profile,
  // leaves the numbers of every other decision where they were (common random
  // numbers between scenarios).
  const double u_channel = d.uniform(), u_fallback = d.uniform(), u_gate = d.uniform();
  const double u_pick = d.uniform(), u_pick2 = d.uniform(), u_private = d.uniform();
  const double u_livestream = d.uniform(), u_activity = d.uniform();
  if (via_group != nullptr) *via_group = false;
  if (P.minors.empty()) return kNone;
  const int channel = choose_channel(s, a, u_channel, u_fallback);
  if (channel < 0) return kNone;
  const bool adult = believed_adult(s, a);
  switch (channel) {
    case 0: {
      // Friends of a connected minor: suggested by the platform, or browsed from connection lists.
      const std::uint32_t via = conn[pick(u_pick, conn.size())];
      const std::span<const std::uint32_t> ties = neighbours(s, s.accounts.platform[a], via, tie_buffer(0), sink);
      if (ties.empty()) return kNone;
      const std::uint32_t m = ties[pick(u_pick2, ties.size())];
      // Protections follow what the platform believes, against whom the platform says.
      if (P.believed_age[m] >= 18 || !protects_against(c, adult, false)) return m;
      const bool browsing = u_gate < r.list_browsing_share;
      if (browsing) return c.hide_connection_lists ? kNone : m;
      if (c.network_expansion.mode == NetworkExpansion::off) return kNone;
      if (c.network_expansion.exclude_suspicious_adults && is_flagged(s, c, a)) return kNone;
      if (c.network_expansion.mode == NetworkExpansion::mutuals &&
          count_mutuals(s, a, m, sink) < static_cast<std::uint32_t>(c.network_expansion.mutuals_threshold))
        return kNone;
      return m;
    }
    case 1: {
      const std::uint32_t m = P.minors[pick(u_pick, P.minors.size())];
      const bool protected_minor = P.believed_age[m] < 18 && protects_against(c, adult, false);
      if (protected_minor && c.search_restriction) return kNone;
      if (c.location_hidden && P.believed_age[m] < 18 && u_gate < r.nearby_share) return kNone;
      if ((P.settings[m] & kPrivate) != 0 && u_private >= r.private_discovery_factor) return kNone;
      return m;
    }
    case 2: {
      const std::uint32_t m = P.minors[pick(u_pick, P.minors.size())];
      if ((P.settings[m] & kPrivate) != 0) return kNone;  // nothing public to find
      if (c.recommender_safety && P.believed_age[m] < 18 && adult && u_gate < r.recommender_share) return kNone;
      // Live restriction by believed age (teen accounts: under 16 only).
      if (c.livestream_restrictions && P.believed_age[m] < std::min<std::int64_t>(18, c.livestream_age_threshold) &&
          u_livestream < r.livestream_share)
        return kNone;
      // More active minors post more: accept in proportion to activity (capped).
      if (u_activity * r.public_activity_cap >= s.pop.activity[P.user[m]]) return kNone;
      return m;
    }
    default: {
      // Shared groups.
      if (via_group != nullptr) *via_group = true;
      const std::uint32_t grp = s.accounts.groups[a][pick(u_pick, 4)];
      if (grp == kNone) return kNone;
      const std::uint32_t size = P.groups.offsets[grp + 1] - P.groups.offsets[grp];
      if (size == 0) return kNone;
      return P.groups.members[P.groups.offsets[grp] + pick(u_pick2, size)];
    }
  }
}

}  // namespace safesim::detail

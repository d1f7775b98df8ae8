// Discovery: how an offender account finds candidate minors (docs/model/submodels/discovery-contact.md).
//
// Channels, each gated by controls:
//   friend suggestions  friends of a minor the account is already connected
//                       to; network_expansion, hide_connection_lists
//   search              profiles found by search; search_restriction, private
//                       profiles, location_hidden
//   public content      public posts and comments; private profiles,
//                       recommender_safety
//   shared groups       minors in the interest groups the account joined
// An attempt that a control closes finds nobody; structural unavailability
// (no connection yet for friend suggestions, no group) re-weights channels.
#include "safesim/rng.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

bool believed_adult(const State& s, std::uint32_t a) { return s.accounts.believed_age[a] >= 18; }

bool is_flagged(const State& s, const ControlsSpec& c, std::uint32_t a) {
  return s.accounts.flags[a] >= c.suspicious_adult_restrictions.flag_threshold;
}

std::uint32_t count_mutuals(const State& s, const PlatformState& P, std::uint32_t a, std::uint32_t m) {
  const auto& conn = s.accounts.connections[a];
  std::uint32_t mutuals = 0;
  for (std::uint32_t e = P.graph.offsets[m]; e < P.graph.offsets[m + 1]; ++e)
    for (std::uint32_t c : conn)
      if (P.graph.targets[e] == c) ++mutuals;
  return mutuals;
}

}  // namespace

std::uint32_t mutual_connections(const State& s, std::uint32_t a, std::uint32_t m) {
  return count_mutuals(s, s.platforms[s.accounts.platform[a]], a, m);
}

std::uint32_t discover(const State& s, std::uint32_t a, rng::Draw& d) {
  const PlatformState& P = s.platforms[s.accounts.platform[a]];
  const ControlsSpec& c = P.spec->controls;
  const ResponseSpec& r = s.spec->response;
  const ChannelWeights& w = s.type_spec(s.accounts.type[a]).channels;
  const auto& conn = s.accounts.connections[a];
  const bool has_groups = s.accounts.groups[a][0] != kNone;
  const double wf = conn.empty() ? 0.0 : w.friend_suggestions;
  const double wg = has_groups ? w.groups : 0.0;
  const double total = wf + w.search + w.public_content + wg;
  if (!(total > 0) || P.minors.empty()) return kNone;
  double u = d.uniform() * total;
  const double u_gate = d.uniform();
  const bool adult = believed_adult(s, a);
  if ((u -= wf) < 0) {
    // Friends of a connected minor: suggested by the platform, or browsed from connection lists.
    const std::uint32_t via = conn[d.below(static_cast<std::uint32_t>(conn.size()))];
    const std::uint32_t deg = P.graph.degree(via);
    if (deg == 0) return kNone;
    const std::uint32_t m = P.graph.targets[P.graph.offsets[via] + d.below(deg)];
    if (P.believed_age[m] >= 18 || !adult) return m;  // protections follow what the platform believes
    const bool browsing = u_gate < r.list_browsing_share;
    if (browsing) return c.hide_connection_lists ? kNone : m;
    if (c.network_expansion.mode == NetworkExpansion::off) return kNone;
    if (c.network_expansion.exclude_suspicious_adults && is_flagged(s, c, a)) return kNone;
    if (c.network_expansion.mode == NetworkExpansion::mutuals &&
        count_mutuals(s, P, a, m) < static_cast<std::uint32_t>(c.network_expansion.mutuals_threshold))
      return kNone;
    return m;
  }
  if ((u -= w.search) < 0) {
    const std::uint32_t m = P.minors[d.below(static_cast<std::uint32_t>(P.minors.size()))];
    const bool protected_minor = P.believed_age[m] < 18 && adult;
    if (protected_minor && c.search_restriction) return kNone;
    if (c.location_hidden && P.believed_age[m] < 18 && u_gate < r.nearby_share) return kNone;
    if ((P.settings[m] & kPrivate) != 0 && d.uniform() >= r.private_discovery_factor) return kNone;
    return m;
  }
  if ((u -= w.public_content) < 0) {
    const std::uint32_t m = P.minors[d.below(static_cast<std::uint32_t>(P.minors.size()))];
    if ((P.settings[m] & kPrivate) != 0) return kNone;  // nothing public to find
    if (c.recommender_safety && P.believed_age[m] < 18 && adult && u_gate < r.recommender_share) return kNone;
    if (c.livestream_restrictions && P.believed_age[m] < 18 && d.uniform() < r.livestream_share) return kNone;
    // More active minors post more: accept in proportion to activity (capped).
    if (d.uniform() * r.public_activity_cap >= s.pop.activity[P.user[m]]) return kNone;
    return m;
  }
  // Shared groups.
  const std::uint32_t grp = s.accounts.groups[a][d.below(4)];
  if (grp == kNone) return kNone;
  const std::uint32_t size = P.groups.offsets[grp + 1] - P.groups.offsets[grp];
  if (size == 0) return kNone;
  return P.groups.members[P.groups.offsets[grp] + d.below(size)];
}

}  // namespace safesim::detail

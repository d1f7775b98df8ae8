// The contact gates, written once (docs/model/submodels/discovery-contact.md): what a platform's DM and
// contact controls do to someone reaching a minor it believes is under 18.
//
// Two paths use them and must agree, because legit_contacts_blocked (the main
// burden metric) is the benign mirror of contacts_prevented:
//   contact.cpp  samples them for each offender attempt (sample_gate)
//   benign.cpp   multiplies their pass probabilities for the aggregate
//                legitimate contacts of each believed age band (pass_probability)
//
// A contact meets, in this order:
//   age_band_segregation  stops believed bands further apart than max_band_gap;
//                         trusted links (family, coaches) are exempt when
//                         trusted_links_exempt is set
//   (a believed adult is not protected: nothing below applies to it)
//   mutuals_required      stops strangers who share no connection with the minor
//   dm_policy             by the minor's believed band, for strangers:
//                           open                 reaches
//                           requests_inbox       reaches if the request is seen
//                           confirm_before_view  same, with a lower reply
//                           connected_only       the message is blocked; it
//                                                reaches as a connection request
//                                                if the sender falls back to one
//                           disabled             stopped
//                         a trusted link is connected, so only disabled stops it
//   group_add_consent     a contact made by adding the minor to a group chat
//                         (response.group_add_share of offender contacts found
//                         in shared groups; benign.group_adds_per_minor_day)
//                         meets segregation and then only this: stopped when set
//                         and the protections apply to the sender (as for DMs)
// The offender-only controls (suspicious-adult restrictions and the daily
// limit of requests to minors, which depend on an account's flags and
// counters) stay in contact.cpp: legitimate adults carry no flags and stay
// under the limit.
#pragma once

#include <cstdint>
#include <cstdlib>

#include "safesim/spec.hpp"
#include "state.hpp"

namespace safesim::detail {

/// What a contact comes to at the gates.
enum class Gate : std::uint8_t {
  reached,    ///< the minor gets it
  prevented,  ///< a control stopped it (counted in contacts_prevented)
  unseen,     ///< it waits in a requests inbox the minor never looks at
};

/// The sender's link to the minor.
enum class Link : std::uint8_t {
  stranger,  ///< no existing connection (every offender attempt)
  trusted,   ///< family or coach: already connected
};

/// Which of an attempt's two uniforms decides its DM step. Offender attempts
/// draw both, seen first, so each policy's random number stays in its slot.
enum class DmDraw : std::uint8_t { seen, fallback };

/// The gates as they apply to one kind of contact.
struct ContactGate {
  bool segregated = false;    ///< age-band segregation stops it outright
  bool needs_mutual = false;  ///< stopped unless sender and minor share a connection
  double pass = 1.0;          ///< probability the DM step lets it through
  DmDraw draw = DmDraw::seen;
  Gate otherwise = Gate::prevented;  ///< what it comes to when the DM step stops it
  double reply_factor = 1.0;         ///< multiplier on the reply probability when it reaches
  bool request = false;              ///< it reaches as a connection request rather than a message
};

/// One contact decided.
struct GateResult {
  Gate gate;
  double reply_factor;  // multiplier on the minor's reply probability
  bool request;         // reached as a connection request rather than a message
};

/// The DM policy for a minor the platform believes is in `minor` (believed
/// adults have none: open).
inline DmPolicy dm_policy_for(const ControlsSpec& c, AgeBand minor) {
  switch (minor) {
    case under_13:
      return c.dm_policy.under_13;
    case band_13_15:
      return c.dm_policy.under_16;
    case band_16_17:
      return c.dm_policy.under_18;
    default:
      return DmPolicy::open;
  }
}

/// Do a minor's contact protections apply to a sender? `dm` is true for the
/// DM policy and mutuals filtering, false for suggestions, lists, search and
/// nudges (controls.contact_protections_against).
inline bool protects_against(const ControlsSpec& c, bool sender_believed_adult, bool dm) {
  switch (c.contact_protections_against) {
    case ProtectionsAgainst::believed_adults:
      return sender_believed_adult;
    case ProtectionsAgainst::all_unconnected:
      return true;
    case ProtectionsAgainst::per_surface:
      break;
  }
  return dm || sender_believed_adult;
}

/// Is adding a minor believed in `minor` to a group chat stopped for a sender
/// believed in `sender` who is not connected to the minor? Group-add consent
/// protects against the same senders as the DM policy (controls.group_add_consent).
inline bool group_add_stopped(const ControlsSpec& c, AgeBand sender, AgeBand minor) {
  return c.group_add_consent && minor != adult && protects_against(c, sender == adult, true);
}

/// Does age-band segregation keep these two believed bands apart?
inline bool segregated(const ControlsSpec& c, AgeBand sender, AgeBand minor, Link link) {
  const AgeBandSegregation& seg = c.age_band_segregation;
  if (!seg.enabled || (link == Link::trusted && seg.trusted_links_exempt)) return false;
  const int gap = std::abs(static_cast<int>(minor) - static_cast<int>(sender));
  return gap > seg.max_band_gap;
}

/// The gates for a contact from a sender believed to be in band `sender` to a
/// minor believed to be in band `minor`.
inline ContactGate contact_gate(const ControlsSpec& c, const ResponseSpec& r, AgeBand sender, AgeBand minor,
                                Link link) {
  ContactGate g;
  g.segregated = segregated(c, sender, minor, link);
  if (minor == adult) return g;  // no protections
  const DmPolicy policy = dm_policy_for(c, minor);
  if (link == Link::trusted) {
    if (policy == DmPolicy::disabled) g.pass = 0.0;
    return g;
  }
  if (!protects_against(c, sender == adult, true)) return g;  // an unconnected peer the protections let through
  g.needs_mutual = c.request_filtering.mutuals_required;
  switch (policy) {
    case DmPolicy::open:
      break;
    case DmPolicy::requests_inbox:
      g.pass = r.requests_seen_prob;
      g.otherwise = Gate::unseen;
      break;
    case DmPolicy::confirm_before_view:
      g.pass = r.requests_seen_prob;
      g.otherwise = Gate::unseen;
      g.reply_factor = r.confirm_accept_factor;
      break;
    case DmPolicy::connected_only:
      g.pass = r.request_fallback_prob;
      g.draw = DmDraw::fallback;
      g.reply_factor = r.connection_accept_factor;
      g.request = true;
      break;
    case DmPolicy::disabled:
      g.pass = 0.0;
      break;
  }
  return g;
}

/// Offender path: decide one contact. `has_mutual` matters only when
/// g.needs_mutual; u_seen and u_fallback are the attempt's two uniforms in
/// (0, 1), and the DM step compares the one g.draw names with g.pass.
inline GateResult sample_gate(const ContactGate& g, bool has_mutual, double u_seen, double u_fallback) {
  if (g.segregated || (g.needs_mutual && !has_mutual)) return {Gate::prevented, 0, false};
  const double u = g.draw == DmDraw::fallback ? u_fallback : u_seen;
  if (u < g.pass) return {Gate::reached, g.reply_factor, g.request};
  return {g.otherwise, 0, false};
}

/// Aggregate path: the share of contacts of this kind that reach the minor,
/// when a share `mutual_share` of them share a connection with the minor and
/// a share `unsegregated` of them (a mix of bands counted as one kind) is at a
/// gap segregation allows. sample_gate reaches with this probability.
inline double pass_probability(const ContactGate& g, double mutual_share, double unsegregated = 1.0) {
  if (g.segregated) return 0.0;
  return unsegregated * (g.needs_mutual ? mutual_share : 1.0) * g.pass;
}

}  // namespace safesim::detail

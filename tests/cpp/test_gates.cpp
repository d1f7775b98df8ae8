// Tests for the contact gates (sim/src/gates.hpp), which the offender path
// samples (contact.cpp) and the benign path multiplies (benign.cpp): the two
// must agree, and each control must stop what it says and nothing else.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>

#include "../../sim/src/gates.hpp"

using namespace safesim;
using namespace safesim::detail;

namespace {

constexpr std::array kPolicies = {DmPolicy::open, DmPolicy::requests_inbox, DmPolicy::confirm_before_view,
                                  DmPolicy::connected_only, DmPolicy::disabled};
constexpr std::array kBands = {under_13, band_13_15, band_16_17, adult};
constexpr std::array kLinks = {Link::stranger, Link::trusted};

/// Response parameters all distinct from each other and from 0, 1 and the
/// defaults, so a gate using the wrong one shows.
ResponseSpec response() {
  ResponseSpec r;
  r.requests_seen_prob = 0.37;
  r.confirm_accept_factor = 0.41;
  r.request_fallback_prob = 0.23;
  r.connection_accept_factor = 0.53;
  return r;
}

ControlsSpec all_bands(DmPolicy p) {
  ControlsSpec c;
  c.dm_policy = {p, p, p};
  return c;
}

struct Segregation {
  bool enabled;
  std::int64_t gap;
  bool exempt;
};
constexpr std::array kSegregations = {Segregation{false, 1, true}, Segregation{true, 0, true},
                                      Segregation{true, 0, false}, Segregation{true, 1, false},
                                      Segregation{true, 2, true},  Segregation{true, 3, false}};

// The uniforms of an attempt on a grid of cell midpoints of (0, 1): the share
// of the grid below p is within 0.5 / kGrid of p.
constexpr int kGrid = 80;
double grid(int k) { return (k + 0.5) / kGrid; }

/// What the offender path does, summed over every (u_seen, u_fallback) on the grid.
struct Sampled {
  double reached = 0, prevented = 0, unseen = 0;  // shares
  double reply_factor = -1;                       // of the reached ones (all equal)
  bool request = false;
  bool reply_factors_agree = true;
};
Sampled sample_all(const ContactGate& g, bool has_mutual) {
  Sampled out;
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j) {
      const GateResult res = sample_gate(g, has_mutual, grid(i), grid(j));
      const double w = 1.0 / (kGrid * kGrid);
      if (res.gate == Gate::reached) {
        out.reached += w;
        if (out.reply_factor >= 0 && (out.reply_factor != res.reply_factor || out.request != res.request))
          out.reply_factors_agree = false;
        out.reply_factor = res.reply_factor;
        out.request = res.request;
      } else {
        (res.gate == Gate::prevented ? out.prevented : out.unseen) += w;
        EXPECT_EQ(res.reply_factor, 0.0);
        EXPECT_FALSE(res.request);
      }
    }
  return out;
}

std::string describe(DmPolicy p, AgeBand sender, AgeBand minor, Link link, const Segregation& seg, bool mutuals) {
  return "policy " + std::to_string(static_cast<int>(p)) + " sender band " + std::to_string(sender) + " minor band " +
         std::to_string(minor) + (link == Link::trusted ? " trusted" : " stranger") + " segregation " +
         (seg.enabled ? "gap " + std::to_string(seg.gap) + (seg.exempt ? " exempt" : "") : "off") +
         (mutuals ? " mutuals required" : "");
}

}  // namespace

// The benign path's pass probability, for contacts a share q of which have a
// mutual connection, is the frequency with which the offender path's sampling
// lets such contacts through; and the ones stopped are prevented or unseen as
// the policy says, in every combination of controls, bands and link.
TEST(Gates, AggregatePassProbabilityIsTheSampledFrequency) {
  const ResponseSpec r = response();
  const double q = 0.3;
  const double tol = 1.0 / kGrid;
  for (DmPolicy policy : kPolicies)
    for (const Segregation& seg : kSegregations)
      for (bool mutuals : {false, true})
        for (AgeBand sender : kBands)
          for (AgeBand minor : kBands)
            for (Link link : kLinks) {
              ControlsSpec c = all_bands(policy);
              c.age_band_segregation = {seg.enabled, seg.gap, seg.exempt};
              c.request_filtering.mutuals_required = mutuals;
              const ContactGate g = contact_gate(c, r, sender, minor, link);
              const Sampled with = sample_all(g, true), without = sample_all(g, false);
              SCOPED_TRACE(describe(policy, sender, minor, link, seg, mutuals));
              EXPECT_NEAR(pass_probability(g, q), q * with.reached + (1 - q) * without.reached, tol);
              EXPECT_NEAR(pass_probability(g, 1.0), with.reached, tol);
              EXPECT_NEAR(pass_probability(g, 0.0), without.reached, tol);
              EXPECT_TRUE(with.reply_factors_agree);
              // Only a stranger's DM to a believed minor can wait unseen in a requests inbox.
              const bool inbox = policy == DmPolicy::requests_inbox || policy == DmPolicy::confirm_before_view;
              if (!inbox || link == Link::trusted || minor == adult) {
                EXPECT_EQ(with.unseen, 0.0);
                EXPECT_EQ(without.unseen, 0.0);
              }
            }
}

// Peers are counted as one kind mixing the same band and (a share of them) the
// neighbouring band: the aggregate with the unsegregated share is the mix of
// what sampling does to each.
TEST(Gates, PeerMixIsTheMixOfSampledBands) {
  const ResponseSpec r = response();
  const double q = 0.3, other = 0.2;
  for (DmPolicy policy : kPolicies)
    for (const Segregation& seg : kSegregations)
      for (bool mutuals : {false, true})
        for (AgeBand minor : {under_13, band_13_15, band_16_17}) {
          ControlsSpec c = all_bands(policy);
          c.age_band_segregation = {seg.enabled, seg.gap, seg.exempt};
          c.request_filtering.mutuals_required = mutuals;
          const auto neighbour = static_cast<AgeBand>(minor == under_13 ? 1 : minor - 1);
          const ContactGate same = contact_gate(c, r, minor, minor, Link::stranger);
          const ContactGate cross = contact_gate(c, r, neighbour, minor, Link::stranger);
          auto sampled = [&](const ContactGate& g) {
            return q * sample_all(g, true).reached + (1 - q) * sample_all(g, false).reached;
          };
          const double mix = (1 - other) * sampled(same) + other * sampled(cross);
          const double aggregate = pass_probability(same, q, 1.0 - (cross.segregated ? other : 0.0));
          SCOPED_TRACE(describe(policy, minor, minor, Link::stranger, seg, mutuals));
          EXPECT_NEAR(aggregate, mix, 1.0 / kGrid);
        }
}

TEST(Gates, DisabledDmsStopEveryoneReachingABelievedMinor) {
  const ResponseSpec r = response();
  for (AgeBand minor : {under_13, band_13_15, band_16_17}) {
    ControlsSpec c = all_bands(DmPolicy::open);
    (minor == under_13     ? c.dm_policy.under_13
     : minor == band_13_15 ? c.dm_policy.under_16
                           : c.dm_policy.under_18) = DmPolicy::disabled;
    for (AgeBand sender : kBands)
      for (Link link : kLinks) {
        const ContactGate g = contact_gate(c, r, sender, minor, link);
        EXPECT_EQ(pass_probability(g, 1.0), 0.0);
        const Sampled s = sample_all(g, true);
        EXPECT_EQ(s.reached, 0.0);
        EXPECT_NEAR(s.prevented, 1.0, 1e-9);  // stopped by a control, not left unseen
      }
    // The other bands keep their open DMs.
    for (AgeBand other : kBands) {
      if (other == minor) continue;
      EXPECT_EQ(pass_probability(contact_gate(c, r, adult, other, Link::stranger), 1.0), 1.0);
    }
  }
}

TEST(Gates, EachDmPolicyUsesItsOwnDrawAndReplyFactor) {
  const ResponseSpec r = response();
  const double below_seen = r.requests_seen_prob - 1e-9, above_seen = r.requests_seen_prob + 1e-9;
  const double below_fb = r.request_fallback_prob - 1e-9, above_fb = r.request_fallback_prob + 1e-9;
  auto run = [&](DmPolicy p, double u_seen, double u_fallback) {
    const ContactGate g = contact_gate(all_bands(p), r, adult, band_13_15, Link::stranger);
    return sample_gate(g, true, u_seen, u_fallback);
  };
  for (double u : {0.01, 0.99}) {
    const GateResult open = run(DmPolicy::open, u, u);
    EXPECT_EQ(open.gate, Gate::reached);
    EXPECT_EQ(open.reply_factor, 1.0);
    EXPECT_FALSE(open.request);
  }
  // A requests inbox: seen or not by u_seen alone; a message, full reply.
  for (double fb : {0.01, 0.99}) {
    const GateResult seen = run(DmPolicy::requests_inbox, below_seen, fb);
    EXPECT_EQ(seen.gate, Gate::reached);
    EXPECT_EQ(seen.reply_factor, 1.0);
    EXPECT_FALSE(seen.request);
    EXPECT_EQ(run(DmPolicy::requests_inbox, above_seen, fb).gate, Gate::unseen);
    // Confirm before view: the same draw, a lower reply.
    const GateResult confirmed = run(DmPolicy::confirm_before_view, below_seen, fb);
    EXPECT_EQ(confirmed.gate, Gate::reached);
    EXPECT_EQ(confirmed.reply_factor, r.confirm_accept_factor);
    EXPECT_FALSE(confirmed.request);
    EXPECT_EQ(run(DmPolicy::confirm_before_view, above_seen, fb).gate, Gate::unseen);
  }
  // Connected only: the message is blocked; a connection request by u_fallback alone.
  for (double seen : {0.01, 0.99}) {
    const GateResult req = run(DmPolicy::connected_only, seen, below_fb);
    EXPECT_EQ(req.gate, Gate::reached);
    EXPECT_EQ(req.reply_factor, r.connection_accept_factor);
    EXPECT_TRUE(req.request);
    EXPECT_EQ(run(DmPolicy::connected_only, seen, above_fb).gate, Gate::prevented);
  }
}

TEST(Gates, DmPolicyFollowsTheMinorsBelievedBand) {
  ControlsSpec c;
  c.dm_policy = {DmPolicy::disabled, DmPolicy::connected_only, DmPolicy::requests_inbox};
  EXPECT_EQ(dm_policy_for(c, under_13), DmPolicy::disabled);
  EXPECT_EQ(dm_policy_for(c, band_13_15), DmPolicy::connected_only);
  EXPECT_EQ(dm_policy_for(c, band_16_17), DmPolicy::requests_inbox);
  EXPECT_EQ(dm_policy_for(c, adult), DmPolicy::open);
  const ResponseSpec r = response();
  EXPECT_EQ(contact_gate(c, r, adult, under_13, Link::stranger).pass, 0.0);
  EXPECT_EQ(contact_gate(c, r, adult, band_13_15, Link::stranger).pass, r.request_fallback_prob);
  EXPECT_EQ(contact_gate(c, r, adult, band_16_17, Link::stranger).pass, r.requests_seen_prob);
}

TEST(Gates, TrustedLinksAreConnectedSoOnlyDisabledDmsStopThem) {
  const ResponseSpec r = response();
  ControlsSpec c;
  c.request_filtering.mutuals_required = true;
  for (DmPolicy p :
       {DmPolicy::open, DmPolicy::requests_inbox, DmPolicy::confirm_before_view, DmPolicy::connected_only}) {
    c.dm_policy = {p, p, p};
    for (AgeBand minor : kBands) {
      const ContactGate g = contact_gate(c, r, adult, minor, Link::trusted);
      EXPECT_EQ(pass_probability(g, 0.0), 1.0);  // no mutual needed either
      const GateResult res = sample_gate(g, false, 0.99, 0.99);
      EXPECT_EQ(res.gate, Gate::reached);
      EXPECT_EQ(res.reply_factor, 1.0);
      EXPECT_FALSE(res.request);
    }
  }
}

TEST(Gates, BelievedAdultsHaveNoDmOrMutualsProtection) {
  const ResponseSpec r = response();
  ControlsSpec c = all_bands(DmPolicy::disabled);
  c.request_filtering.mutuals_required = true;
  for (AgeBand sender : kBands) {
    const ContactGate g = contact_gate(c, r, sender, adult, Link::stranger);
    EXPECT_EQ(pass_probability(g, 0.0), 1.0);
    EXPECT_EQ(sample_gate(g, false, 0.99, 0.99).gate, Gate::reached);
  }
  // Segregation still compares bands: an account posing as a child is kept
  // away from users believed adult (the offender path relies on this).
  c.age_band_segregation = {true, 1, true};
  EXPECT_TRUE(contact_gate(c, r, under_13, adult, Link::stranger).segregated);
  EXPECT_FALSE(contact_gate(c, r, band_16_17, adult, Link::stranger).segregated);
}

TEST(Gates, SegregationStopsBandsFurtherApartThanTheGap) {
  const ResponseSpec r = response();
  ControlsSpec c = all_bands(DmPolicy::open);
  EXPECT_FALSE(segregated(c, adult, under_13, Link::stranger));  // off by default
  c.age_band_segregation = {true, 1, true};
  EXPECT_FALSE(segregated(c, adult, band_16_17, Link::stranger));  // gap 1 = max: allowed
  EXPECT_TRUE(segregated(c, adult, band_13_15, Link::stranger));   // gap 2
  EXPECT_TRUE(segregated(c, band_13_15, adult, Link::stranger));   // symmetric
  EXPECT_FALSE(segregated(c, band_13_15, under_13, Link::stranger));
  EXPECT_FALSE(segregated(c, adult, under_13, Link::trusted));  // exempt
  c.age_band_segregation.trusted_links_exempt = false;
  EXPECT_TRUE(segregated(c, adult, under_13, Link::trusted));
  c.age_band_segregation.max_band_gap = 0;
  EXPECT_FALSE(segregated(c, band_13_15, band_13_15, Link::stranger));
  EXPECT_TRUE(segregated(c, band_16_17, band_13_15, Link::stranger));
  // A segregated contact is prevented whatever the draws, and passes nothing in aggregate.
  const ContactGate g = contact_gate(c, r, adult, band_13_15, Link::stranger);
  EXPECT_EQ(pass_probability(g, 1.0), 0.0);
  EXPECT_EQ(sample_gate(g, true, 0.01, 0.01).gate, Gate::prevented);
}

TEST(Gates, MutualsRequiredStopsStrangersWithoutAMutual) {
  const ResponseSpec r = response();
  ControlsSpec c = all_bands(DmPolicy::requests_inbox);
  EXPECT_FALSE(contact_gate(c, r, adult, band_13_15, Link::stranger).needs_mutual);  // off by default
  c.request_filtering.mutuals_required = true;
  const ContactGate g = contact_gate(c, r, adult, band_13_15, Link::stranger);
  EXPECT_TRUE(g.needs_mutual);
  // Without a mutual: prevented (a control stopped it), not left unseen.
  EXPECT_EQ(sample_gate(g, false, 0.01, 0.01).gate, Gate::prevented);
  // With one: on to the DM policy.
  EXPECT_EQ(sample_gate(g, true, 0.01, 0.01).gate, Gate::reached);
  EXPECT_EQ(sample_gate(g, true, 0.99, 0.01).gate, Gate::unseen);
  EXPECT_EQ(pass_probability(g, 0.5), 0.5 * r.requests_seen_prob);
}

// controls.contact_protections_against: against whom the protections apply.
TEST(Gates, ProtectionsAgainstDecideWhichSendersTheDmPolicyStops) {
  ControlsSpec c;
  ResponseSpec r;
  c.dm_policy = {DmPolicy::disabled, DmPolicy::disabled, DmPolicy::disabled};
  // The default (per_surface): the DM policy stops every unconnected sender, peers included.
  EXPECT_EQ(contact_gate(c, r, band_13_15, band_13_15, Link::stranger).pass, 0.0);
  EXPECT_EQ(contact_gate(c, r, adult, band_13_15, Link::stranger).pass, 0.0);
  // Against believed adults only: an unconnected peer reaches the minor, an adult does not.
  c.contact_protections_against = ProtectionsAgainst::believed_adults;
  EXPECT_EQ(contact_gate(c, r, band_13_15, band_13_15, Link::stranger).pass, 1.0);
  EXPECT_EQ(contact_gate(c, r, adult, band_13_15, Link::stranger).pass, 0.0);
  c.contact_protections_against = ProtectionsAgainst::all_unconnected;
  EXPECT_EQ(contact_gate(c, r, band_13_15, band_13_15, Link::stranger).pass, 0.0);
  // Suggestions, lists, search and nudges: against believed adults unless all_unconnected.
  EXPECT_TRUE(protects_against(c, false, false));
  c.contact_protections_against = ProtectionsAgainst::per_surface;
  EXPECT_FALSE(protects_against(c, false, false));
  EXPECT_TRUE(protects_against(c, false, true));
  EXPECT_TRUE(protects_against(c, true, false));
}
